//! External mode: the same scenario files, checks and output, against a
//! herd of real processes in any language, over real TCP
//! (`herd-sim run --external 'COMMAND' [--herd FILE] PATH...`; see
//! docs/external.md).
//!
//! Per run: the herd's processes (`procs`, started from a command
//! template, `command`), each with a config in this project's format that
//! routes every link through proxies of ours (`layout`, `proxy`), a Places
//! stand-in (`places`), and a start-up that waits until the herd is ready
//! and finds out whether its links use the proxies (`start`). Then the
//! scenario runs on the wall clock (`drive`, `steps`): the simulator's own
//! clients over real sockets (`clients`), faults as signals and proxy
//! settings (`stage`), what each server holds read by polls (`watch`),
//! everything judged by the simulator's own judge and checks
//! (`driver::judge`, `oracle`). What clients, proxies and polls see
//! becomes the simulator's typed records (`recording`, `wire`), so traces,
//! diagrams and statistics work unchanged.

mod clients;
mod clock;
mod command;
mod drive;
mod layout;
mod places;
mod procs;
mod proxy;
mod recording;
mod stage;
mod start;
mod steps;
mod watch;
mod wire;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use herd::config::HerdConfig;

use self::clock::RealClock;
use self::drive::Run;
use self::start::{start, Setup};
use crate::driver::judge::{Herd, Judge};
use crate::driver::{Caveat, Failure, Options, Report};
use crate::observe::trace::{self, TraceOptions};
use crate::observe::Note;
use crate::oracle::Violation;
use crate::report::Rerun;
use crate::scenario::Scenario;
use crate::world::setup::WorldSetup;

pub use self::procs::PLACES_ENV;

/// Where each run's configs and server output go with `--no-out`, under
/// the current folder.
pub const NO_OUT_DIR: &str = "target/herd-sim/external";

/// `run`'s flags for external mode.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ExternalArgs {
    /// Run against real processes: COMMAND is run by `sh -c` once per
    /// server, with {name}, {port}, {config} and {places} filled in (e.g.
    /// 'python3 server.py {name}'; our herd: 'herd serve {name} --config
    /// {config} --places fake').
    #[arg(long, value_name = "COMMAND")]
    pub external: Option<String>,
    /// The herd under test (its names, ports and links), a herd config
    /// file; default: the default herd. With --external only.
    #[arg(long, value_name = "FILE", requires = "external")]
    pub herd: Option<PathBuf>,
}

impl ExternalArgs {
    /// The session these flags ask for, keeping its servers' configs and
    /// output under `results` (the run's results folder); `None` in
    /// simulation.
    pub fn session(&self, results: Option<&Path>) -> Result<Option<Session>> {
        let Some(template) = &self.external else {
            return Ok(None);
        };
        command::check(template).map_err(anyhow::Error::msg)?;
        let herd = match &self.herd {
            Some(file) => HerdConfig::from_file(file)?,
            None => HerdConfig::default_herd(),
        };
        // Absolute, so that a command that changes folder still finds its config.
        let out = std::env::current_dir()
            .context("cannot tell the current folder")?
            .join(results.map_or(Path::new(NO_OUT_DIR).to_path_buf(), |r| r.join("servers")));
        std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
        println!(
            "external: each server runs `{template}`; configs and output in {}/",
            out.display()
        );
        Ok(Some(Session {
            template: template.clone(),
            herd,
            herd_file: self.herd.clone(),
            out,
        }))
    }
}

/// Runs scenarios against the herd a command starts.
pub struct Session {
    template: String,
    herd: HerdConfig,
    herd_file: Option<PathBuf>,
    out: PathBuf,
}

impl Session {
    /// How a run is made again: the flags that select this herd.
    pub fn rerun(&self) -> Rerun {
        let mut flags = vec!["--external".to_string(), self.template.clone()];
        if let Some(file) = &self.herd_file {
            flags.extend(["--herd".to_string(), file.display().to_string()]);
        }
        Rerun {
            flags,
            replays: false,
        }
    }

    /// A fresh folder for the run whose files are named `base`.
    fn folder(&self, base: &str) -> Result<PathBuf, String> {
        let dir = self.out.join(base);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// One run of `scenario` against a freshly started herd; `seed` drives
    /// the proxies' random latencies and losses, and the servers' configs
    /// and output go to the folder `base` (named as the run's other files).
    /// Every process started is stopped before this returns, on Ctrl-C and
    /// SIGTERM too.
    pub fn run(&self, scenario: &Scenario, seed: u64, base: &str, options: Options) -> Report {
        if let Err(why) = layout::fits(&self.herd, scenario) {
            return skipped(scenario, why);
        }
        let dir = match self.folder(base) {
            Ok(dir) => dir,
            Err(error) => return failed("start", error),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let Ok(runtime) = runtime else {
            return failed("start", "cannot start an async runtime".into());
        };
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            tokio::select! {
                report = self.run_here(scenario, seed, &dir, options) => report,
                () = interrupted() => {
                    procs::kill_registered();
                    eprintln!("interrupted: every server process was killed; output in {}", dir.display());
                    std::process::exit(130);
                }
            }
        })
    }

    async fn run_here(&self, scenario: &Scenario, seed: u64, dir: &Path, options: Options) -> Report {
        let setup = Setup {
            herd: layout::with_tuning(&self.herd, &scenario.herd.tuning),
            template: &self.template,
            dir,
            network: &scenario.network,
            seed,
        };
        let (mut stage, ready) = match start(setup).await {
            Ok(started) => started,
            Err(error) => return failed("start", format!("{error} (output in {})", dir.display())),
        };
        // The start-up markers' polls asked Places for nothing a step sent.
        stage.places.take_radii();
        let clock = RealClock::start();
        stage.clock = clock;
        stage.recording.start(clock);
        stage.recording.note(Note::Seed {
            seed,
            scenario: scenario.name.clone(),
        });
        let mut judge = Judge::new(stage.herd(), &WorldSetup::default());
        // The markers are updates like any other: floods and catch-up carry them.
        for (server, line) in &ready.markers {
            judge.inside.sending(server, line.as_bytes());
        }
        let mut run = Run::new(scenario, &mut stage, &mut judge);
        let failure = run.drive().await.err();
        let converged_ms = run.converged_ms;
        if let Some(f) = &failure {
            stage.recording.note(Note::Fail {
                place: f.place.clone(),
                message: f.message(),
            });
        }
        let sim_ms = stage.now().as_millis() as u64;
        stage.procs.stop_all().await;
        let mut caveats: Vec<Caveat> = ready.note.into_iter().collect();
        caveats.append(&mut judge.caveats);
        caveats.extend(measured(&stage));
        let records = stage.recording.log().records();
        Report {
            trace: trace::render(
                &records,
                TraceOptions {
                    heartbeats: options.show_heartbeats,
                    messages: scenario.trace_messages,
                },
            ),
            failure,
            sim_ms,
            converged_ms,
            records,
            caveats,
        }
    }
}

/// What the run could not measure, said once.
fn measured(stage: &stage::Stage) -> Option<Caveat> {
    (!stage.herd().links.is_empty() && !stage.proxied).then(|| Caveat {
        place: "links".into(),
        what: "no traffic between servers went through the link proxies: the flood cost \
               (msgs/update) is not measured, and is not checked"
            .into(),
        skipped: false,
    })
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match term.as_mut() {
            Some(term) => term.recv().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm => {}
    }
}

fn empty(failure: Option<Failure>, caveats: Vec<Caveat>) -> Report {
    Report {
        trace: String::new(),
        failure,
        sim_ms: 0,
        converged_ms: None,
        records: Vec::new(),
        caveats,
    }
}

/// A scenario that is not about the herd under test.
fn skipped(scenario: &Scenario, why: String) -> Report {
    let caveat = Caveat {
        place: scenario.path.clone(),
        what: why,
        skipped: true,
    };
    empty(None, vec![caveat])
}

/// A herd that could not be started or run.
fn failed(place: &str, error: String) -> Report {
    empty(
        Some(Failure::at(place, Violation::HostFailed { error })),
        Vec::new(),
    )
}
