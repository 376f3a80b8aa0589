//! One log file per server (`<dir>/<server>.log`). Each server's tasks run
//! under their own `tracing` dispatcher, so events land in the right file
//! even when a whole herd shares one process.

use std::path::Path;

use tracing::Dispatch;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

/// The dispatcher for one server's log file, and the guard that flushes it
/// when dropped (keep it alive until the server has stopped).
pub fn server_log(dir: &Path, server: &str) -> std::io::Result<(Dispatch, WorkerGuard)> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{server}.log")))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false);
    // DEBUG keeps heartbeats too: the log holds everything sent and received.
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(LevelFilter::DEBUG));
    Ok((Dispatch::new(subscriber), guard))
}
