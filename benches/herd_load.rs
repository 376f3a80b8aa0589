//! The herd as users run it, against the line-echo ceiling, in one run: the
//! default herd as five `herd serve NAME` processes (and as one `herd serve
//! --all`), logging to files as shipped, with the default `ack = "herd"`
//! and with `ack = "local"`; one server (Hands) driven by 64 clients on
//! persistent connections, then by 16 clients opening a connection per
//! command; and a bare tokio line echo with two worker threads driven the
//! same way. Each row: requests/s, reply latency p50/p99/p99.9, CPU per
//! update of every process of the herd (`/proc/PID/stat`, over the measured
//! window), log bytes per update, log lines lost, and ratios to the echo.
//! Binaries given as `LABEL=PATH` (older builds) run the same way in the
//! same run, in the modes their configuration knows, and get a table of
//! ratios of this build to each.
//!
//! ```text
//! cargo bench --bench herd_load -- [--seconds 5] [--rounds 1] [--clients 64] [--fresh 16]
//!     [--only LABEL-PART ...] [--memory 1000000] [LABEL=PATH ...]
//! ```
//!
//! `--memory N` measures instead the RSS per stored client of one server
//! holding N clients (herd_load/memory.rs). Rounds take the subjects in
//! turns, reversed every other round, and pool them.

#[path = "herd_load/drive.rs"]
mod drive;
#[path = "herd_load/echo.rs"]
mod echo;
#[path = "../tests/common/log_lines.rs"]
mod log_lines;
#[path = "herd_load/memory.rs"]
mod memory;
#[path = "../tests/common/procs/mod.rs"]
mod procs;
#[path = "herd_load/report.rs"]
mod report;
#[path = "herd_load/subject.rs"]
mod subject;

use std::path::PathBuf;
use std::time::Duration;

use drive::Shape;
use report::Pooled;
use subject::{Ack, Subject};

pub struct Settings {
    pub window: Duration,
    pub warm_up: Duration,
    pub rounds: usize,
    pub clients: usize,
    pub fresh_clients: usize,
    pub memory: Option<usize>,
    /// Only the subjects whose label contains one of these (and the echo).
    pub only: Vec<String>,
    /// This build first, then the binaries given.
    pub binaries: Vec<(String, PathBuf)>,
}

fn settings() -> Settings {
    let mut settings = Settings {
        window: Duration::from_secs(5),
        warm_up: Duration::from_secs(1),
        rounds: 1,
        clients: 64,
        fresh_clients: 16,
        memory: None,
        only: Vec::new(),
        binaries: vec![("new".into(), env!("CARGO_BIN_EXE_herd").into())],
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
            "--seconds" => settings.window = Duration::from_secs(number("--seconds")),
            "--rounds" => settings.rounds = number("--rounds") as usize,
            "--clients" => settings.clients = number("--clients") as usize,
            "--fresh" => settings.fresh_clients = number("--fresh") as usize,
            "--memory" => settings.memory = Some(number("--memory") as usize),
            "--only" => settings.only.push(args.next().unwrap_or_default()),
            // cargo bench passes this to every bench binary.
            "--bench" => {}
            binary => {
                let (label, path) = binary
                    .split_once('=')
                    .unwrap_or_else(|| panic!("want LABEL=PATH, got {binary:?}"));
                settings.binaries.push((label.to_string(), PathBuf::from(path)));
            }
        }
    }
    settings
}

/// Every subject of a round: the echo, then each binary in each layout
/// and acknowledgement mode.
fn subjects(settings: &Settings) -> Vec<Subject> {
    let mut subjects = vec![Subject::Echo];
    for binary in 0..settings.binaries.len() {
        for one_process in [false, true] {
            for ack in [Ack::Default, Ack::Local] {
                let subject = Subject::Herd {
                    binary,
                    one_process,
                    ack,
                };
                let label = subject.label(settings);
                if settings.only.is_empty() || settings.only.iter().any(|o| label.contains(o.as_str())) {
                    subjects.push(subject);
                }
            }
        }
    }
    subjects
}

fn main() {
    echo::serve_if_asked();
    let settings = settings();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(clients) = settings.memory {
        memory::run(&settings, clients, &rt);
        return;
    }
    let subjects = subjects(&settings);
    let shapes = [Shape::Persistent, Shape::Fresh];
    let mut pooled: Vec<Option<[Pooled; 2]>> = subjects.iter().map(|_| Some(Default::default())).collect();
    for round in 0..settings.rounds {
        let mut order: Vec<usize> = (0..subjects.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let Some(pool) = &mut pooled[i] else { continue };
            let label = subjects[i].label(&settings);
            match subject::measure(&subjects[i], &settings, &shapes, &rt) {
                Some(measured) => {
                    pool[0].lost_lines += measured.lost_lines;
                    for ((pool, run), shape) in pool.iter_mut().zip(measured.runs).zip(shapes) {
                        eprintln!("round {round}, {label}, {}: {}", shape.label(), run.summary());
                        pool.add(run);
                    }
                }
                None => {
                    eprintln!("{label}: this binary does not run that way; left out");
                    pooled[i] = None;
                }
            }
        }
    }
    report::print(&settings, &subjects, &pooled, &shapes);
}
