//! What is measured: the echo, or a herd of one binary in one layout and
//! acknowledgement mode; started fresh, driven in each shape of load in
//! turn, its CPU read over each window and its logs weighed, then stopped.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use herd::config::HerdConfig;

use crate::drive::{drive, Shape, Window};
use crate::echo;
use crate::log_lines;
use crate::procs::{cpu_time, free_ports, scratch, HerdProcs, Setup};
use crate::report::Run;
use crate::Settings;

/// The server the clients talk to.
pub const TARGET: &str = "Hands";
/// After a phase, for the last lines to reach the log files.
const SETTLE: Duration = Duration::from_millis(200);
/// Rotated log files kept: at 64 MiB each, far more than a run writes.
const KEEP_FILES: usize = 1_000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// No `ack` setting: `herd` for builds that know it.
    Default,
    Local,
}

pub enum Subject {
    Echo,
    Herd {
        /// Index into `Settings::binaries`.
        binary: usize,
        one_process: bool,
        ack: Ack,
    },
}

impl Subject {
    pub fn label(&self, settings: &Settings) -> String {
        match self {
            Subject::Echo => "tokio line echo".into(),
            Subject::Herd {
                binary,
                one_process,
                ack,
            } => format!(
                "{} {}{}",
                settings.binaries[*binary].0,
                if *one_process { "--all" } else { "5 procs" },
                if *ack == Ack::Local { " local" } else { "" }
            ),
        }
    }
}

/// One subject's runs, a run per shape, and what its logs say of them.
pub struct Measured {
    pub runs: Vec<Run>,
    /// IAMATs answered that no log line records.
    pub lost_lines: u64,
}

/// Reads the CPU time of `pids` when the window opens and closes.
struct Cpu {
    pids: Vec<u32>,
    opened: Duration,
    used: Duration,
}

impl Cpu {
    fn now(&self) -> Duration {
        self.pids.iter().filter_map(|&pid| cpu_time(pid)).sum()
    }
}

impl Window for Cpu {
    fn opened(&mut self) {
        self.opened = self.now();
    }

    fn closed(&mut self) {
        self.used = self.now().saturating_sub(self.opened);
    }
}

/// Runs every shape against `target`, whose processes are `pids`.
fn phases(
    target: SocketAddr,
    pids: Vec<u32>,
    logs: Option<&Path>,
    settings: &Settings,
    shapes: &[Shape],
    rt: &tokio::runtime::Runtime,
) -> Vec<Run> {
    let mut runs = Vec::new();
    for &shape in shapes {
        let clients = match shape {
            Shape::Persistent => settings.clients,
            Shape::Fresh => settings.fresh_clients,
        };
        let before = logs.map_or(0, log_lines::dir_bytes);
        let mut cpu = Cpu {
            pids: pids.clone(),
            opened: Duration::ZERO,
            used: Duration::ZERO,
        };
        let driven = rt.block_on(drive(
            target,
            shape,
            clients,
            settings.warm_up,
            settings.window,
            &mut cpu,
        ));
        std::thread::sleep(SETTLE);
        runs.push(Run {
            driven,
            cpu: cpu.used,
            log_bytes: logs.map_or(0, log_lines::dir_bytes) - before,
        });
    }
    runs
}

/// Starts `subject`, measures it in every shape, stops it. `None` when the
/// binary does not run that way (an older release without `ack`).
pub fn measure(
    subject: &Subject,
    settings: &Settings,
    shapes: &[Shape],
    rt: &tokio::runtime::Runtime,
) -> Option<Measured> {
    let Subject::Herd {
        binary,
        one_process,
        ack,
    } = *subject
    else {
        let dir = scratch("echo");
        let port = free_ports(1)[0];
        let echo = echo::start(port, &dir);
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let runs = phases(target, vec![echo.pid()], None, settings, shapes, rt);
        drop(echo);
        let _ = std::fs::remove_dir_all(&dir);
        return Some(Measured { runs, lost_lines: 0 });
    };
    let setup = Setup {
        tuning: match ack {
            Ack::Default => String::new(),
            Ack::Local => "ack = \"local\"".into(),
        },
        one_process,
        ..Setup::default()
    };
    let template = HerdConfig::default_herd();
    let binary = &settings.binaries[binary].1;
    // Rotation stays on as shipped, but keeps every file: lines counted
    // and bytes weighed must not be deleted by the cap. A release without
    // a `[log]` table has no rotation, and is run without it.
    let keep_all = Setup {
        log: format!("max_files = {KEEP_FILES}"),
        ..setup.clone()
    };
    let mut herd = HerdProcs::launch(binary, &template, &keep_all)
        .or_else(|_| HerdProcs::launch(binary, &template, &setup))
        .ok()?;
    herd.wait_ready().expect("the herd links");
    let pids = herd.processes().map(|p| p.pid()).collect();
    let logs = herd.log_dir();
    let runs = phases(herd.addr(TARGET), pids, Some(&logs), settings, shapes, rt);
    herd.stop_all().expect("the herd stops cleanly");
    // Each server answered one marker IAMAT while the herd got ready.
    let sent: u64 = runs.iter().map(|r| r.driven.replies).sum::<u64>() + template.servers.len() as u64;
    let logged = log_lines::tally(&logs).iamats;
    Some(Measured {
        runs,
        lost_lines: sent.saturating_sub(logged),
    })
}
