//! One log file per server, `<dir>/<server>.log`, written by an observer
//! of the server's events. The line format is in docs/protocol.md ("Log
//! files").
//!
//! The event path formats each line straight into the server's buffer
//! (reused: no allocation per line), and a writer thread writes the buffer
//! in batches. Nothing is dropped when the disk is slow: an event waits
//! while `BUFFER_BYTES` are pending. A quiet server's lines reach the file
//! within `FLUSH_MS`; `ServerLog::close` writes out the rest.

mod level;
mod line;
mod rotate;
mod text;
mod writer;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use level::{LevelError, Threshold};
pub use writer::FLUSH_MS;

use crate::clock::SharedClock;
use crate::config::LogSettings;
use crate::observe::{Event, Level, Observer, SharedObserver};
use rotate::RotatingFile;
use writer::Shared;

/// Lines pending per server before events wait for the writer. With the
/// batch being written, a server's log holds at most about twice this in
/// memory.
pub const BUFFER_BYTES: usize = 1 << 20;

/// A server's log file and the thread that writes it. Dropping it closes
/// it too.
pub struct ServerLog {
    path: PathBuf,
    shared: Arc<Shared>,
    observer: Arc<LogObserver>,
    writer: Option<JoinHandle<()>>,
}

impl ServerLog {
    /// Opens (appends to) `<dir>/<server>.log`, rotated as `settings` say,
    /// keeping events of `threshold` and above, stamped by `clock`.
    pub fn open(
        dir: &Path,
        server: &str,
        settings: &LogSettings,
        threshold: Threshold,
        clock: SharedClock,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{server}.log"));
        let file = RotatingFile::open(&path, settings.max_file_bytes, settings.max_files)?;
        let shared = Arc::new(Shared::new(BUFFER_BYTES));
        let shown = path.display().to_string();
        // Where else could the log say that it cannot write?
        let on_error = move |e: &io::Error| {
            eprintln!("warning: cannot write {shown}: {e}; its lines are lost until writing works again")
        };
        let writer = shared.spawn_writer(format!("log {server}"), file, on_error)?;
        let observer = Arc::new(LogObserver {
            shared: shared.clone(),
            clock,
            threshold,
        });
        Ok(Self {
            path,
            shared,
            observer,
            writer: Some(writer),
        })
    }

    /// The observer to install as the server's `ServerEnv::observer`.
    pub fn observer(&self) -> SharedObserver {
        self.observer.clone()
    }

    /// The live file (rotated ones carry `.1`, `.2`, ... after it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes out every line taken so far and returns once it is in the
    /// file; events reported later are not logged.
    pub fn close(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.shared.close();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for ServerLog {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Writes one line per event it keeps to its server's log.
pub struct LogObserver {
    shared: Arc<Shared>,
    clock: SharedClock,
    threshold: Threshold,
}

impl Observer for LogObserver {
    fn enabled(&self, level: Level) -> bool {
        self.threshold.keeps(level)
    }

    fn event(&self, event: &Event<'_>) {
        if self.threshold.keeps(event.level()) {
            let clock = &*self.clock;
            self.shared
                .append(|out, stamp| line::write(out, stamp, clock.now_unix_nanos(), event));
        }
    }
}
