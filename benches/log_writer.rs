//! What one logged event costs: the log file's observer (`herd::log`)
//! against the way logs were written before it, `TracingObserver` under a
//! `tracing` fmt subscriber writing through tracing-appender's lossy
//! non-blocking writer. Same events, same run, rounds interleaved.
//!
//! `cargo bench --bench log_writer`. A few seconds in all.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herd::clock::SystemClock;
use herd::config::LogSettings;
use herd::log::{ServerLog, Threshold};
use herd::observe::{Event, Observer, Role};

#[path = "old_log/tracing_observer.rs"]
mod tracing_observer;
use herd::protocol::{ClientTime, Location, PeerMessage, Skew, Update};
use tracing_observer::TracingObserver;

/// Updates per round; each is six events, under the old writer's queue of
/// 128 000 lines so that it has a chance to keep them all.
const UPDATES: usize = 20_000;
const ROUNDS: usize = 5;
/// Distinct clients the updates cycle through.
const CLIENTS: usize = 1_000;

/// One update as a server of the default herd sees it: the client's line,
/// the reply, the flood to two neighbours and the copies that come back.
struct Traffic {
    line: Vec<u8>,
    reply: Vec<u8>,
    flood: PeerMessage,
}

fn traffic() -> Vec<Traffic> {
    (0..CLIENTS)
        .map(|c| {
            let time = format!("1700000000.{c:09}");
            let update = Update {
                origin: "Goloman".into(),
                skew: Skew(263_873_386),
                client: format!("client-{c}.cs.ucla.edu"),
                location: Location::parse("+34.068930-118.445127").unwrap(),
                time: ClientTime::parse(&time).unwrap(),
            };
            Traffic {
                line: format!("IAMAT {} {} {time}", update.client, update.location.as_str()).into_bytes(),
                reply: format!("{update}\n").into_bytes(),
                flood: PeerMessage::update(update),
            }
        })
        .collect()
}

/// Reports as the server does: asks `enabled` first.
fn report(observer: &dyn Observer, event: Event<'_>) {
    if observer.enabled(event.level()) {
        observer.event(&event);
    }
}

fn emit(observer: &dyn Observer, traffic: &[Traffic]) {
    report(
        observer,
        Event::Opened {
            conn: 9,
            role: Role::Client,
            peer: "127.0.0.1:50312",
        },
    );
    for i in 0..UPDATES {
        let t = &traffic[i % traffic.len()];
        report(
            observer,
            Event::ClientLine {
                conn: 9,
                line: &t.line,
            },
        );
        report(
            observer,
            Event::Reply {
                conn: 9,
                bytes: &t.reply,
            },
        );
        for (conn, neighbour) in [(3, "Hands"), (4, "Holiday")] {
            report(
                observer,
                Event::PeerSend {
                    conn,
                    neighbour,
                    message: &t.flood,
                },
            );
        }
        for (conn, neighbour) in [(1, "Wilkes"), (2, "Hands")] {
            report(
                observer,
                Event::PeerRecv {
                    conn,
                    neighbour,
                    message: &t.flood,
                },
            );
        }
    }
}

#[derive(Clone, Copy)]
struct Round {
    /// Until the last event call returned.
    calls: Duration,
    /// Until the file held everything (or the writer gave up).
    on_disk: Duration,
    bytes: u64,
    lines: usize,
}

fn measure(dir: &Path, run: impl FnOnce() -> Duration) -> Round {
    let start = Instant::now();
    let calls = run();
    let on_disk = start.elapsed();
    let text = std::fs::read(dir.join("Bench.log")).expect("log file");
    Round {
        calls,
        on_disk,
        bytes: text.len() as u64,
        lines: text.iter().filter(|&&b| b == b'\n').count(),
    }
}

fn new_round(dir: &Path, traffic: &[Traffic]) -> Round {
    measure(dir, || {
        let log = ServerLog::open(
            dir,
            "Bench",
            &LogSettings::default(),
            Threshold::INFO,
            Arc::new(SystemClock),
        )
        .expect("log");
        let start = Instant::now();
        emit(&*log.observer(), traffic);
        let calls = start.elapsed();
        log.close();
        calls
    })
}

/// The log as it was: one `tracing` dispatcher per server, fmt layer, lossy
/// non-blocking writer, everything from DEBUG up.
fn old_round(dir: &Path, traffic: &[Traffic]) -> Round {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    measure(dir, || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("Bench.log"))
            .expect("log");
        let (writer, guard) = tracing_appender::non_blocking(file);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_target(false);
        let subscriber = tracing_subscriber::registry().with(layer.with_filter(LevelFilter::DEBUG));
        let dispatch = tracing::Dispatch::new(subscriber);
        let start = Instant::now();
        tracing::dispatcher::with_default(&dispatch, || emit(&TracingObserver::default(), traffic));
        let calls = start.elapsed();
        // Waits (up to a second) for the writer thread to write what it kept.
        drop(guard);
        calls
    })
}

fn median(rounds: &[Round], of: impl Fn(&Round) -> f64) -> f64 {
    let mut values: Vec<f64> = rounds.iter().map(of).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let traffic = traffic();
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("log-writer-bench");
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for (name, rounds) in [("old", &mut old), ("new", &mut new)] {
            let dir = scratch.join(format!("{name}-{round}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch");
            let sample = if name == "old" {
                old_round(&dir, &traffic)
            } else {
                new_round(&dir, &traffic)
            };
            rounds.push(sample);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    let events = (UPDATES * 6) as f64;
    let figures = |rounds: &[Round]| {
        [
            median(rounds, |r| r.calls.as_nanos() as f64 / events),
            median(rounds, |r| r.on_disk.as_nanos() as f64 / events),
            median(rounds, |r| r.bytes as f64 / UPDATES as f64),
            median(rounds, |r| r.lines as f64 / UPDATES as f64),
        ]
    };
    let (o, n) = (figures(&old), figures(&new));
    println!(
        "log writer: {UPDATES} updates x 6 events (client line, reply, 2 flooded sends, 2 peer receives),"
    );
    println!(
        "{ROUNDS} rounds interleaved, medians; one thread reporting, the writer thread on the other core"
    );
    println!();
    println!(
        "{:<44} {:>12} {:>12} {:>13} {:>12}",
        "path", "ns/event", "ns/event", "log bytes", "lines kept"
    );
    println!(
        "{:<44} {:>12} {:>12} {:>13} {:>12}",
        "", "(calls)", "(on disk)", "per update", "per update"
    );
    let row = |name: &str, f: &[f64; 4]| {
        println!(
            "{name:<44} {:>12.0} {:>12.0} {:>13.0} {:>12.2}",
            f[0], f[1], f[2], f[3]
        );
    };
    row("old: TracingObserver, fmt, non_blocking", &o);
    row("new: herd::log::LogObserver", &n);
    println!(
        "{:<44} {:>11.2}x {:>11.2}x {:>12.2}x {:>11.2}x",
        "new / old",
        n[0] / o[0],
        n[1] / o[1],
        n[2] / o[2],
        n[3] / o[3]
    );
    println!("(6 lines per update is everything; the old writer drops lines when it falls behind)");
}
