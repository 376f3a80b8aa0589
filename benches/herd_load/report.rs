//! The tables: a row per subject and shape of load, with ratios to the echo
//! of the same run, then this build over each other binary given.

use std::time::Duration;

use crate::drive::{quantile_us, Driven, Shape};
use crate::subject::{Subject, TARGET};
use crate::Settings;

/// One subject, one shape, one round.
pub struct Run {
    pub driven: Driven,
    /// CPU time of every process of the subject over the window.
    pub cpu: Duration,
    /// Log bytes written during the whole phase (warm-up included).
    pub log_bytes: u64,
}

impl Run {
    pub fn summary(&self) -> String {
        let d = &self.driven;
        format!(
            "{:.0} requests/s, p99 {:.0} µs, {:.1} µs CPU per update",
            d.counted as f64 / d.window.as_secs_f64(),
            quantile_us(&d.latencies, 0.99),
            self.cpu.as_secs_f64() * 1e6 / d.counted.max(1) as f64
        )
    }
}

/// Runs of one subject and shape, pooled over rounds.
#[derive(Default)]
pub struct Pooled {
    counted: u64,
    window: Duration,
    latencies: Vec<Duration>,
    cpu: Duration,
    replies: u64,
    log_bytes: u64,
    pub lost_lines: u64,
}

impl Pooled {
    pub fn add(&mut self, run: Run) {
        self.counted += run.driven.counted;
        self.window += run.driven.window;
        self.latencies.extend(run.driven.latencies);
        self.latencies.sort_unstable();
        self.cpu += run.cpu;
        self.replies += run.driven.replies;
        self.log_bytes += run.log_bytes;
    }

    /// requests/s, p50, p99, p99.9 (µs), CPU µs per update, log bytes per update.
    fn figures(&self) -> [f64; 6] {
        [
            self.counted as f64 / self.window.as_secs_f64(),
            quantile_us(&self.latencies, 0.50),
            quantile_us(&self.latencies, 0.99),
            quantile_us(&self.latencies, 0.999),
            self.cpu.as_secs_f64() * 1e6 / self.counted.max(1) as f64,
            self.log_bytes as f64 / self.replies.max(1) as f64,
        ]
    }
}

const NAME: usize = 24;

fn header(first: &str, columns: &[&str]) {
    print!("{first:<NAME$} {:<10}", "load");
    for c in columns {
        print!(" {c:>10}");
    }
    println!();
}

/// Pooled figures by subject, then shape; `None` for a subject left out.
pub fn print(settings: &Settings, subjects: &[Subject], pooled: &[Option<[Pooled; 2]>], shapes: &[Shape]) {
    println!(
        "herd load: the default herd as `herd serve` processes on loopback, logging to files; {} \
         persistent clients, then {} opening a connection per command, sending IAMATs to {TARGET}",
        settings.clients, settings.fresh_clients
    );
    println!(
        "{} s measured after {} s of warm-up per phase, {} round(s) pooled; CPU is every process of \
         the subject over the window",
        settings.window.as_secs(),
        settings.warm_up.as_secs(),
        settings.rounds
    );
    println!();
    header(
        "subject",
        &[
            "req/s",
            "p50 µs",
            "p99 µs",
            "p99.9 µs",
            "CPU µs/upd",
            "log B/upd",
            "x echo rps",
            "x echo p99",
            "lost lines",
        ],
    );
    let echo = pooled[0].as_ref().expect("the echo always runs");
    for (s, subject) in subjects.iter().enumerate() {
        let Some(pool) = &pooled[s] else { continue };
        for (k, shape) in shapes.iter().enumerate() {
            let f = pool[k].figures();
            let base = echo[k].figures();
            print!("{:<NAME$} {:<10}", subject.label(settings), shape.label());
            print!(
                " {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.1} {:>10.0}",
                f[0], f[1], f[2], f[3], f[4], f[5]
            );
            print!(" {:>9.3}x {:>9.2}x", f[0] / base[0], f[2] / base[2]);
            if k == 0 && s > 0 {
                print!(" {:>10}", pool[0].lost_lines);
            }
            println!();
        }
    }
    println!(
        "(x echo: ratio to the echo in the same run and shape; lost lines: IAMATs answered but not logged)"
    );
    compare(settings, subjects, pooled, shapes);
}

/// This build over each other binary, subject by subject.
fn compare(settings: &Settings, subjects: &[Subject], pooled: &[Option<[Pooled; 2]>], shapes: &[Shape]) {
    for other in 1..settings.binaries.len() {
        println!();
        println!("{} / {}:", settings.binaries[0].0, settings.binaries[other].0);
        header(
            "subject",
            &["req/s", "p50", "p99", "p99.9", "CPU/upd", "log B/upd"],
        );
        for (s, subject) in subjects.iter().enumerate() {
            let Subject::Herd { binary: 0, .. } = subject else {
                continue;
            };
            let twin = subjects.iter().position(|t| match (t, subject) {
                (
                    Subject::Herd {
                        binary,
                        one_process,
                        ack,
                    },
                    Subject::Herd {
                        one_process: o,
                        ack: a,
                        ..
                    },
                ) => *binary == other && one_process == o && ack == a,
                _ => false,
            });
            let (Some(new), Some(Some(old))) = (&pooled[s], twin.map(|t| &pooled[t])) else {
                continue;
            };
            for (k, shape) in shapes.iter().enumerate() {
                let (n, o) = (new[k].figures(), old[k].figures());
                print!("{:<NAME$} {:<10}", subject.label(settings), shape.label());
                for (n, o) in n.iter().zip(o) {
                    print!(" {:>9.2}x", n / o);
                }
                println!();
            }
        }
    }
}
