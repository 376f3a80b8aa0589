//! The price of `ack = "herd"` against `ack = "local"`, in one run: the
//! default herd as five `herd serve NAME` processes (release build, each
//! logging to its file), measured idle (one client, one IAMAT at a time,
//! origin rotating over the servers) and under load (32 persistent clients
//! on Goloman, each sending its next IAMAT as soon as the last is
//! answered). Each measurement starts a fresh herd; the modes alternate
//! and the rounds are pooled, so machine noise hits both alike.
//!
//! Prints AT-reply latency (p50, p99), requests per second, and the
//! inter-server messages per client update: `HERD AT` and `HERD ACK` lines
//! sent, counted in the log files, over the IAMATs the servers received.
//!
//! `cargo bench --bench acks`. About half a minute on two cores.

#[path = "../tests/common/procs/mod.rs"]
mod procs;

use std::path::Path;
use std::time::{Duration, Instant};

use herd::config::HerdConfig;
use procs::{fresh_time, Conn, HerdProcs, Load};

const ROUNDS: usize = 3;
const IDLE_UPDATES: usize = 2_000;
const LOAD_CLIENTS: usize = 32;
const LOAD_PER_CLIENT: usize = 500;
const MODES: [&str; 2] = ["local", "herd"];

#[derive(Default)]
struct Measured {
    /// Sorted, one per IAMAT the bench sent.
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// From the logs: IAMATs received, `HERD AT` and `HERD ACK` lines sent.
    updates: usize,
    at_sent: usize,
    ack_sent: usize,
}

impl Measured {
    fn pool(&mut self, run: Measured) {
        self.latencies.extend(run.latencies);
        self.latencies.sort();
        self.elapsed += run.elapsed;
        self.updates += run.updates;
        self.at_sent += run.at_sent;
        self.ack_sent += run.ack_sent;
    }

    fn percentile_us(&self, p: f64) -> f64 {
        let rank = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1e6
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn per_update(&self, sent: usize) -> f64 {
        sent as f64 / self.updates as f64
    }

    /// The figures a row shows, in column order.
    fn figures(&self) -> [f64; 6] {
        [
            self.per_second(),
            self.percentile_us(0.50),
            self.percentile_us(0.99),
            self.per_update(self.at_sent),
            self.per_update(self.ack_sent),
            self.per_update(self.at_sent + self.ack_sent),
        ]
    }
}

/// One IAMAT at a time, on one connection per server, origin rotating.
fn idle(herd: &HerdProcs) -> Vec<Duration> {
    let names = herd.names();
    let mut conns: Vec<Conn> = names
        .iter()
        .map(|n| Conn::open(herd.addr(n)).expect("connect"))
        .collect();
    let mut latencies: Vec<Duration> = (0..IDLE_UPDATES)
        .map(|i| {
            let line = format!("IAMAT bench-idle +34.068930-118.445127 {}", fresh_time().0);
            let sent = Instant::now();
            let reply = conns[i % names.len()].ask(&line).expect("AT reply");
            assert!(reply.starts_with("AT "), "{reply}");
            sent.elapsed()
        })
        .collect();
    latencies.sort();
    latencies
}

fn measure(mode: &str, loaded: bool) -> Measured {
    let binary = Path::new(env!("CARGO_BIN_EXE_herd"));
    let tuning = format!("ack = \"{mode}\"");
    let mut herd = HerdProcs::start(binary, &HerdConfig::default_herd(), &tuning).expect("the herd starts");
    let start = Instant::now();
    let latencies = if loaded {
        let load = Load::start(herd.addr("Goloman"), LOAD_CLIENTS, LOAD_PER_CLIENT).expect("connect");
        load.wait().expect("every load IAMAT answered")
    } else {
        idle(&herd)
    };
    let elapsed = start.elapsed();
    herd.stop_all().expect("the herd stops, flushing its logs");
    let (updates, at_sent, ack_sent) = count_log_lines(&herd.log_dir());
    Measured {
        latencies,
        elapsed,
        updates,
        at_sent,
        ack_sent,
    }
}

/// IAMATs received, `HERD AT` and `HERD ACK` lines sent, in every log file
/// of `dir`. The log format is matched loosely (a line that mentions `send`
/// and the message), so a reworded event still counts.
fn count_log_lines(dir: &Path) -> (usize, usize, usize) {
    let (mut updates, mut at, mut ack) = (0, 0, 0);
    for entry in std::fs::read_dir(dir).expect("log dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("log file");
        for line in text.lines() {
            let sent = line.contains("send") && !line.contains("recv");
            updates += usize::from(line.contains("recv") && line.contains("IAMAT "));
            at += usize::from(sent && line.contains("HERD AT "));
            ack += usize::from(sent && line.contains("HERD ACK "));
        }
    }
    assert!(
        updates > 0 && at > 0,
        "no IAMAT received or HERD AT sent in the logs of {}: has the log format changed?",
        dir.display()
    );
    (updates, at, ack)
}

fn row(phase: &str, mode: &str, figures: [f64; 6]) {
    let [rps, p50, p99, at, ack, msgs] = figures;
    println!("{phase:<6} {mode:<12} {rps:>10.0} {p50:>9.0} {p99:>9.0} {at:>9.2} {ack:>9.2} {msgs:>9.2}");
}

fn ratio_row(phase: &str, herd: [f64; 6], local: [f64; 6]) {
    let ratios: Vec<String> = herd
        .iter()
        .zip(local)
        .map(|(h, l)| {
            if l > 0.0 {
                format!("{:.2}x", h / l)
            } else {
                "-".into()
            }
        })
        .collect();
    let [rps, p50, p99, at, ack, msgs] = &ratios[..] else {
        unreachable!("six figures")
    };
    println!(
        "{phase:<6} {:<12} {rps:>10} {p50:>9} {p99:>9} {at:>9} {ack:>9} {msgs:>9}",
        "herd / local"
    );
}

fn main() {
    let started = Instant::now();
    let mut results: Vec<[Measured; 2]> = vec![Default::default(), Default::default()];
    for _ in 0..ROUNDS {
        for (phase, loaded) in [false, true].into_iter().enumerate() {
            for (m, mode) in MODES.iter().enumerate() {
                results[phase][m].pool(measure(mode, loaded));
            }
        }
    }

    println!(
        "AT replies with ack = \"herd\" and ack = \"local\": the default herd as 5 processes, release build, \
         logging to files; {ROUNDS} rounds pooled"
    );
    println!(
        "idle: 1 client, {IDLE_UPDATES} IAMATs one at a time, origin rotating; load: {LOAD_CLIENTS} clients x \
         {LOAD_PER_CLIENT} IAMATs on Goloman"
    );
    println!("messages: HERD AT and HERD ACK lines sent (from the logs) per IAMAT received, readiness markers included");
    println!();
    println!(
        "{:<6} {:<12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "phase", "ack", "requests/s", "p50 µs", "p99 µs", "AT/upd", "ACK/upd", "msgs/upd"
    );
    for (phase, [local, herd]) in ["idle", "load"].iter().zip(&results) {
        let (local, herd) = (local.figures(), herd.figures());
        row(phase, "local", local);
        row(phase, "herd", herd);
        ratio_row(phase, herd, local);
    }
    println!("(ratios: for requests/s higher is better, for latency lower; local mode sends no HERD ACK)");
    println!();
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
}
