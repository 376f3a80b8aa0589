//! `herd-sim run PATH... [--seed N] [--trace FILE]`: runs scenario files
//! and says which passed. Exit codes: 0 all passed, 1 a wrong answer or a
//! broken invariant, 2 no convergence in time, 3 bad usage or a bad
//! scenario file. With `--external COMMAND`, against real processes
//! (docs/external.md).
//!
//! `herd-sim explore --seeds A..B`: random scenarios from seeds, failing
//! ones written and shrunk; same exit codes (docs/explorer.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use herd_sim::observe::{diagram, stats};
use herd_sim::scenario::{self, Scenario};
use herd_sim::{FailureKind, Options};

#[derive(Parser)]
#[command(name = "herd-sim", version, about = "Deterministic simulator for the herd")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs scenario files; a folder means every *.toml in it, sorted.
    Run {
        /// Scenario files, or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run every scenario with this seed instead of its own.
        #[arg(long)]
        seed: Option<u64>,
        /// Write the trace of every run to this file.
        #[arg(long)]
        trace: Option<PathBuf>,
        /// Keep heartbeats in the trace.
        #[arg(long)]
        heartbeats: bool,
        /// Run each scenario this many times, with seeds N, N+1, ... from
        /// its seed (or --seed): a sweep for rare interleavings.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        /// Run the servers with this bug of the catalogue switched on
        /// (`herd-sim explore --list-bugs` names them).
        #[arg(long)]
        bug: Option<herd::bugs::Bug>,
        /// Draw each run as a space-time diagram (SVG) in this file; with
        /// several runs, one file each, named FILE.<scenario>[.<seed>].svg.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Draw only this stretch of simulated time.
        #[arg(long, value_name = "FROM_MS..TO_MS", value_parser = diagram::parse_window)]
        svg_window: Option<(u64, u64)>,
        /// Draw heartbeats in the diagram (faint); left out by default.
        #[arg(long)]
        svg_heartbeats: bool,
        /// Write every run's propagation statistics to this file (a JSON array).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        #[command(flatten)]
        external: herd_sim::external::ExternalArgs,
    },
    /// Random scenarios from seeds, checked, and failing ones shrunk to
    /// small scenario files (docs/explorer.md).
    Explore(herd_sim::explore::cli::ExploreArgs),
}

const EXIT_SAFETY: u8 = 1;
const EXIT_LIVENESS: u8 = 2;
const EXIT_USAGE: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let command = match cli.command {
        Command::Explore(args) => return ExitCode::from(args.run()),
        run => run,
    };
    let Command::Run {
        paths,
        seed,
        trace,
        heartbeats,
        runs,
        bug,
        svg,
        svg_window,
        svg_heartbeats,
        json,
        external,
    } = command
    else {
        unreachable!("explore returned above");
    };
    let scenarios = match load_all(&paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if external.external.is_some() && bug.is_some() {
        eprintln!(
            "error: --bug switches a bug on in the simulated servers; it means nothing with --external"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let external = match external.session() {
        Ok(session) => session,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let settings = Settings {
        seed,
        runs,
        trace_file: trace,
        see: See {
            svg,
            svg_window,
            svg_heartbeats,
            json,
        },
        options: Options {
            show_heartbeats: heartbeats,
            bug,
        },
        external,
    };
    match run_all(&scenarios, &settings) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
        .iter()
        .map(|f| scenario::load(f).map_err(Into::into))
        .collect()
}

struct Settings {
    seed: Option<u64>,
    runs: u64,
    trace_file: Option<PathBuf>,
    see: See,
    options: Options,
    /// Real processes instead of the simulation.
    external: Option<herd_sim::external::Session>,
}

/// Diagrams and statistics files asked for.
struct See {
    svg: Option<PathBuf>,
    svg_window: Option<(u64, u64)>,
    svg_heartbeats: bool,
    json: Option<PathBuf>,
}

fn run_all(scenarios: &[Scenario], settings: &Settings) -> Result<u8> {
    match settings.seed {
        Some(seed) => println!("master seed {seed}"),
        None => println!("master seed: each scenario's own (--seed N overrides)"),
    }
    let options = settings.options;
    let mut traces = String::new();
    let mut code = 0;
    let mut json = Vec::new();
    let mut passes: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    let runs = scenarios
        .iter()
        .flat_map(|s| (0..settings.runs).map(move |i| (s, settings.seed.unwrap_or(s.seed).wrapping_add(i))));
    for (scenario, seed) in runs {
        // Wall time is for the reader only; nothing in the run depends on it.
        let wall = std::time::Instant::now();
        let report = match &settings.external {
            Some(session) => session.run(scenario, seed, options),
            None => herd_sim::run(scenario, seed, options),
        };
        let wall_s = wall.elapsed().as_secs_f64();
        let converged = report
            .converged_ms
            .map_or(String::new(), |ms| format!("  converged in {ms} ms"));
        let skipped = report.caveats.iter().any(|c| c.skipped);
        let verdict = match (&report.failure, skipped) {
            (Some(_), _) => "FAIL",
            (None, true) => "SKIP",
            (None, false) => "PASS",
        };
        *passes.entry(scenario.name.as_str()).or_default() += u64::from(verdict == "PASS");
        let stats = stats::of_run(&report.records, &scenario.herd, report.sim_ms);
        println!(
            "{verdict}  {}  seed {seed}  sim {}.{:03}s{converged}  {}  (wall {wall_s:.2}s)",
            scenario.name,
            report.sim_ms / 1000,
            report.sim_ms % 1000,
            stats.summary()
        );
        for caveat in &report.caveats {
            println!("  {caveat}");
        }
        if let Some(file) = &settings.see.svg {
            let one_run = scenarios.len() == 1 && settings.runs == 1;
            let path = diagram::file_for(file, &scenario.name, seed, one_run, settings.runs == 1);
            let titled = diagram::Titled {
                scenario: &scenario.name,
                description: &scenario.description,
                seed,
                verdict: match &report.failure {
                    None => "PASS".to_string(),
                    Some(f) => format!("FAIL at {}: {}", f.place, f.message()),
                },
                herd: &scenario.herd,
                sim_ms: report.sim_ms,
            };
            let see = &settings.see;
            let svg = diagram::of_run(&report.records, &titled, see.svg_window, see.svg_heartbeats);
            std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut entry = stats::json_entry(&scenario.name, seed, verdict == "PASS", report.sim_ms, &stats);
        if !report.caveats.is_empty() {
            entry["caveats"] = report.caveats.iter().map(ToString::to_string).collect();
        }
        json.push(entry);
        if let Some(failure) = &report.failure {
            let what = match failure.kind() {
                FailureKind::Safety => "wrong answer or broken invariant",
                FailureKind::Liveness => "no convergence",
            };
            println!("  {what} at {}: {}", failure.place, failure.message());
            match &settings.external {
                Some(session) => println!(
                    "  reproduce (wall-clock runs vary): cargo run -p herd-sim -- run {}{}",
                    scenario.path,
                    session.flags()
                ),
                None => println!(
                    "  reproduce: cargo run -p herd-sim -- run {} --seed {seed}{}",
                    scenario.path,
                    options.bug.map_or(String::new(), |b| format!(" --bug {b}"))
                ),
            }
            let this = match failure.kind() {
                FailureKind::Safety => EXIT_SAFETY,
                FailureKind::Liveness => EXIT_LIVENESS,
            };
            code = if code == 0 { this } else { code.min(this) };
        }
        traces.push_str(&report.trace);
    }
    if settings.runs > 1 {
        for (name, passed) in &passes {
            println!("pass rate  {name}  {passed}/{}", settings.runs);
        }
    }
    if let Some(path) = &settings.trace_file {
        std::fs::write(path, traces).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &settings.see.json {
        let text = serde_json::to_string_pretty(&json)? + "\n";
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(code)
}
