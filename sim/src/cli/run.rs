//! `herd-sim run PATH...`: runs scenario files, prints a line per run and
//! the totals, and leaves every run's trace, diagram, plot and statistics
//! in a results folder. With `--external`, against a herd of real
//! processes (docs/external.md), the same way.

use std::path::{Path, PathBuf};

use clap::Args;
use herd::bugs::Bug;

use super::{ScenarioArgs, EXIT_LIVENESS, EXIT_SAFETY, EXIT_USAGE};
use crate::external::{ExternalArgs, Session};
use crate::observe::{diagram, plot};
use crate::oracle::FailureKind;
use crate::report::command::Invocation;
use crate::report::progress::Progress;
use crate::report::results::{self, base_name, Results};
use crate::report::{Outcome, Rerun, Totals};
use crate::scenario::Scenario;
use crate::{driver, Options};

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenarios: ScenarioArgs,
    /// Write the trace of every run to this file.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Keep heartbeats in the trace.
    #[arg(long)]
    pub heartbeats: bool,
    /// Run each scenario this many times, with seeds N, N+1, ... from
    /// its seed (or --seed): a sweep for rare interleavings.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Run the servers with this bug of the catalogue switched on
    /// (`herd-sim explore --list-bugs` names them).
    #[arg(long, conflicts_with = "external")]
    pub bug: Option<Bug>,
    /// Draw each run as a space-time diagram (SVG) in this file; with
    /// several runs, one file each, named FILE.<scenario>[.<seed>].svg.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Draw only this stretch of simulated time.
    #[arg(long, value_name = "FROM_MS..TO_MS", value_parser = diagram::parse_window)]
    pub svg_window: Option<(u64, u64)>,
    /// Draw heartbeats in the diagram (faint); left out by default.
    #[arg(long)]
    pub svg_heartbeats: bool,
    /// Write every run's verdict and statistics to this file (a JSON array).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The results folder (default: the next numbered folder under
    /// target/herd-sim/, linked as target/herd-sim/latest).
    #[arg(long, value_name = "DIR", conflicts_with = "no_out")]
    pub out: Option<PathBuf>,
    /// Write no results folder.
    #[arg(long)]
    pub no_out: bool,
    /// No progress on stderr during a sweep.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub external: ExternalArgs,
}

impl RunArgs {
    /// Runs the command; the process exit code.
    pub fn execute(self) -> u8 {
        let Some(scenarios) = self.scenarios.load() else {
            return EXIT_USAGE;
        };
        match self.run_all(&scenarios) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_USAGE
            }
        }
    }

    fn results(&self, command: &str) -> Result<Option<Results>, String> {
        if self.no_out {
            return Ok(None);
        }
        let root = Path::new(results::DEFAULT_ROOT);
        match Results::create(self.out.as_deref(), root, command.to_string()) {
            Ok(r) => Ok(Some(r)),
            Err(e) if self.out.is_some() => Err(format!("cannot create {}: {e}", self.out_shown())),
            Err(e) => {
                eprintln!(
                    "warning: no results folder: cannot create one under {}: {e}",
                    root.display()
                );
                Ok(None)
            }
        }
    }

    fn out_shown(&self) -> String {
        self.out
            .as_deref()
            .map_or(String::new(), |p| p.display().to_string())
    }

    fn run_all(&self, scenarios: &[Scenario]) -> Result<u8, String> {
        let invocation = Invocation::current();
        let command = invocation.command_line();
        let results = self.results(&command)?;
        let session = self
            .external
            .session(results.as_ref().map(Results::dir))
            .map_err(|e| format!("{e:#}"))?;
        let rerun = session
            .as_ref()
            .map_or_else(|| Rerun::simulated(self.bug), Session::rerun);
        match self.scenarios.seed {
            Some(seed) => println!("master seed {seed}"),
            None => println!("master seed: each scenario's own (--seed N overrides)"),
        }
        let options = Options {
            show_heartbeats: self.heartbeats,
            bug: self.bug,
            ..Options::default()
        };
        let total = scenarios.len() as u64 * self.runs;
        let progress = Progress::new("run", "runs", total, self.runs > 1 && !self.quiet);
        let (mut totals, mut code) = (Totals::default(), 0);
        let (mut traces, mut json) = (String::new(), Vec::new());
        for scenario in scenarios {
            let mut passed = 0;
            for i in 0..self.runs {
                let seed = self.scenarios.seed.unwrap_or(scenario.seed).wrapping_add(i);
                // Wall time is for the reader only; nothing in the run depends on it.
                let wall = std::time::Instant::now();
                let report = match &session {
                    Some(session) => {
                        let base = base_name(&scenario.name, seed, self.runs == 1);
                        session.run(scenario, seed, &base, options)
                    }
                    None => driver::run(scenario, seed, options),
                };
                let outcome = Outcome::of(scenario, seed, &report, wall.elapsed().as_secs_f64());
                progress.suspend(|| {
                    let failure = outcome.failure_lines(&invocation, &rerun);
                    for line in outcome.lines().chain(failure.into_iter().flatten()) {
                        println!("{line}");
                    }
                });
                totals.add(&outcome);
                passed += u64::from(outcome.verdict() == "PASS");
                if let Some(f) = &outcome.failure {
                    let this = match f.kind {
                        FailureKind::Safety => EXIT_SAFETY,
                        FailureKind::Liveness => EXIT_LIVENESS,
                    };
                    code = if code == 0 { this } else { code.min(this) };
                }
                let files = Files {
                    scenario,
                    seed,
                    report: &report,
                    one_run: total == 1,
                    one_seed: self.runs == 1,
                };
                self.write_run(&files, &outcome, results.as_ref(), total)?;
                traces.push_str(&report.trace);
                json.push(outcome.json(&command));
                progress.set(
                    totals.passed + totals.failed + totals.skipped,
                    format!("{} failing", totals.failed),
                );
            }
            if self.runs > 1 {
                let rate = format!("pass rate  {}  {passed}/{}", scenario.name, self.runs);
                progress.suspend(|| println!("{rate}"));
            }
        }
        progress.finish();
        let json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
        if let Some(path) = &self.trace {
            write(path, &traces)?;
        }
        if let Some(path) = &self.json {
            write(path, &json)?;
        }
        println!("{}", totals.line());
        if let Some(results) = &results {
            results.write("stats.json", &json).map_err(|e| e.to_string())?;
            println!("results: {}", results.dir().display());
        }
        Ok(code)
    }

    /// The run's diagram for `--svg`, and its files in the results folder.
    fn write_run(
        &self,
        run: &Files,
        outcome: &Outcome,
        results: Option<&Results>,
        total: u64,
    ) -> Result<(), String> {
        let scenario = run.scenario;
        let titled = diagram::Titled {
            scenario: &scenario.name,
            description: &scenario.description,
            seed: run.seed,
            verdict: match &outcome.failure {
                None => outcome.verdict().to_string(),
                Some(f) => format!("FAIL at {}: {}", f.place, f.message),
            },
            herd: &scenario.herd,
            sim_ms: run.report.sim_ms,
        };
        let records = &run.report.records;
        let svg = || diagram::of_run(records, &titled, self.svg_window, self.svg_heartbeats);
        let diagram_text = self.svg.as_ref().map(|_| svg());
        if let (Some(file), Some(text)) = (&self.svg, &diagram_text) {
            let path = diagram::file_for(file, &scenario.name, run.seed, run.one_run, run.one_seed);
            write(&path, text)?;
        }
        let Some(results) = results.filter(|_| total <= results::ALL_FILES_UP_TO || !outcome.passed()) else {
            return Ok(());
        };
        let base = base_name(&scenario.name, run.seed, run.one_seed);
        let diagram_text = diagram_text.unwrap_or_else(svg);
        let plot_text = plot::of_run(records, &titled);
        for (suffix, text) in [
            ("trace.txt", run.report.trace.as_str()),
            ("svg", &diagram_text),
            ("plot.svg", &plot_text),
        ] {
            results
                .write(&format!("{base}.{suffix}"), text)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// One run and how its files are named.
struct Files<'a> {
    scenario: &'a Scenario,
    seed: u64,
    report: &'a driver::Report,
    one_run: bool,
    one_seed: bool,
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
