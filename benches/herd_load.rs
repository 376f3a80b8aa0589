//! Load on real processes: the five servers of the default herd, each a
//! `herd serve NAME` process on loopback ports, and persistent clients
//! sending IAMATs to one of them (Goloman), each waiting for its reply
//! before the next. Prints requests/s and log bytes per update, summed
//! over the whole herd, for each binary given, measured in the same run
//! (rounds in the order A B, then B A, ...), with ratios to the first.
//!
//! ```text
//! cargo bench --bench herd_load -- [--seconds 10] [--clients 64] [--rounds 1] [LABEL=BINARY ...]
//! ```
//!
//! Without binaries it measures this build. Each server runs in a process
//! group of its own, killed when a run ends, fails, or is interrupted.

#[path = "../tests/common/log_lines.rs"]
mod log_lines;
#[path = "../tests/common/process.rs"]
mod process;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herd::config::HerdConfig;
use process::{ProcessHerd, PATIENCE};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Settings {
    seconds: u64,
    clients: usize,
    rounds: usize,
    binaries: Vec<(String, PathBuf)>,
}

/// Before counting starts: links up, connections and caches warm.
const WARM_UP: Duration = Duration::from_secs(1);

fn settings() -> Settings {
    let mut settings = Settings {
        seconds: 10,
        clients: 64,
        rounds: 1,
        binaries: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> u64 {
            let value = args.next().unwrap_or_default();
            value
                .parse()
                .unwrap_or_else(|_| panic!("{what} wants a number, got {value:?}"))
        };
        match arg.as_str() {
            "--seconds" => settings.seconds = number("--seconds"),
            "--clients" => settings.clients = number("--clients") as usize,
            "--rounds" => settings.rounds = number("--rounds") as usize,
            // cargo bench passes this to every bench binary.
            "--bench" => {}
            binary => {
                let (label, path) = binary
                    .split_once('=')
                    .unwrap_or_else(|| panic!("want LABEL=BINARY, got {binary:?}"));
                settings.binaries.push((label.to_string(), PathBuf::from(path)));
            }
        }
    }
    if settings.binaries.is_empty() {
        settings
            .binaries
            .push(("this build".into(), env!("CARGO_BIN_EXE_herd").into()));
    }
    settings
}

#[derive(Default, Clone, Copy)]
struct Outcome {
    /// Replies received, warm-up included (every one an update).
    updates: u64,
    /// Replies received within the measured window.
    counted: u64,
    window: Duration,
    log_bytes: u64,
    log_lines: u64,
    interrupted: bool,
}

/// One binary, one run: start the herd, load it, stop it, weigh its logs.
fn run(binary: &Path, settings: &Settings, rt: &tokio::runtime::Runtime) -> Outcome {
    let mut herd = ProcessHerd::start(binary, &HerdConfig::default_herd(), "", |_| None);
    let target = SocketAddr::from(([127, 0, 0, 1], herd.port("Goloman")));
    let mut outcome = rt.block_on(load(target, settings));
    herd.stop();
    let logs = log_lines::tally(&herd.logs());
    outcome.log_bytes = logs.bytes;
    outcome.log_lines = logs.lines;
    outcome
}

async fn load(target: SocketAddr, settings: &Settings) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let (updates, counted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut clients = Vec::new();
    for c in 0..settings.clients {
        let (stop, counting) = (stop.clone(), counting.clone());
        let (updates, counted) = (updates.clone(), counted.clone());
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(target).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let mut stream = BufReader::new(stream);
            let mut reply = String::new();
            for seq in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let line = format!("IAMAT load-{c} +34.068930-118.445127 1700000000.{seq:09}\n");
                stream.get_mut().write_all(line.as_bytes()).await.expect("write");
                reply.clear();
                let read = tokio::time::timeout(PATIENCE, stream.read_line(&mut reply)).await;
                assert!(
                    matches!(read, Ok(Ok(n)) if n > 0) && reply.starts_with("AT "),
                    "no AT reply within {PATIENCE:?}: {read:?} {reply:?}"
                );
                updates.fetch_add(1, Ordering::Relaxed);
                if counting.load(Ordering::Relaxed) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let interrupted = async {
        tokio::time::sleep(WARM_UP).await;
        counting.store(true, Ordering::Relaxed);
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(settings.seconds)).await;
        counting.store(false, Ordering::Relaxed);
        start.elapsed()
    };
    let (window, interrupted) = tokio::select! {
        window = interrupted => (window, false),
        _ = tokio::signal::ctrl_c() => (Duration::ZERO, true),
    };
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client");
    }
    Outcome {
        updates: updates.load(Ordering::Relaxed),
        counted: counted.load(Ordering::Relaxed),
        window,
        interrupted,
        ..Outcome::default()
    }
}

fn main() {
    let settings = settings();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mut totals = vec![Outcome::default(); settings.binaries.len()];
    for round in 0..settings.rounds {
        let mut order: Vec<usize> = (0..settings.binaries.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (label, path) = &settings.binaries[i];
            let outcome = run(path, &settings, &rt);
            if outcome.interrupted {
                eprintln!("interrupted; every server was stopped");
                std::process::exit(130);
            }
            eprintln!("round {round}, {label}: {} updates", outcome.updates);
            let total = &mut totals[i];
            total.updates += outcome.updates;
            total.counted += outcome.counted;
            total.window += outcome.window;
            total.log_bytes += outcome.log_bytes;
            total.log_lines += outcome.log_lines;
        }
    }

    println!(
        "herd load: 5 `herd serve` processes (default herd, loopback), {} persistent clients sending IAMAT",
        settings.clients
    );
    println!(
        "to Goloman, {} s measured after {} s warm-up, {} round(s); log bytes are all five servers' files",
        settings.seconds,
        WARM_UP.as_secs(),
        settings.rounds
    );
    println!();
    println!(
        "{:<16} {:>11} {:>13} {:>13} {:>10} {:>8}",
        "binary", "requests/s", "log bytes", "log lines", "log bytes", "log MB"
    );
    println!(
        "{:<16} {:>11} {:>13} {:>13} {:>10}",
        "", "", "per update", "per update", "per line"
    );
    let figures = |o: &Outcome| {
        let updates = o.updates.max(1) as f64;
        [
            o.counted as f64 / o.window.as_secs_f64(),
            o.log_bytes as f64 / updates,
            o.log_lines as f64 / updates,
            o.log_bytes as f64 / o.log_lines.max(1) as f64,
        ]
    };
    let base = figures(&totals[0]);
    for ((label, _), total) in settings.binaries.iter().zip(&totals) {
        let f = figures(total);
        println!(
            "{label:<16} {:>11.0} {:>13.0} {:>13.2} {:>10.1} {:>8.1}",
            f[0],
            f[1],
            f[2],
            f[3],
            total.log_bytes as f64 / 1e6
        );
        if f != base {
            let ratios: Vec<String> = f
                .iter()
                .zip(base)
                .map(|(f, b)| format!("{:.2}x", f / b))
                .collect();
            println!(
                "{:<16} {:>11} {:>13} {:>13} {:>10}",
                "  / first", ratios[0], ratios[1], ratios[2], ratios[3]
            );
        }
    }
    println!("(flooding sends each update over each link at most once per direction; under load a");
    println!("neighbour that falls behind catches up from a snapshot, so lines per update vary)");
}
