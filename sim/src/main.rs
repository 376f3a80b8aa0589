//! `herd-sim run PATH... [--seed N] [--trace FILE]`: runs scenario files
//! and says which passed. Exit codes: 0 all passed, 1 a wrong answer or a
//! broken invariant, 2 no convergence in time, 3 bad usage or a bad
//! scenario file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use herd_sim::run::{self, FailureKind, Options};
use herd_sim::scenario::{self, Scenario};

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
    },
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
    let Command::Run {
        paths,
        seed,
        trace,
        heartbeats,
        runs,
    } = cli.command;
    let scenarios = match load_all(&paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let settings = Settings {
        seed,
        runs,
        trace_file: trace,
        options: Options {
            show_heartbeats: heartbeats,
        },
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
    options: Options,
}

fn run_all(scenarios: &[Scenario], settings: &Settings) -> Result<u8> {
    match settings.seed {
        Some(seed) => println!("master seed {seed}"),
        None => println!("master seed: each scenario's own (--seed N overrides)"),
    }
    let options = settings.options;
    let mut traces = String::new();
    let mut code = 0;
    let runs = scenarios
        .iter()
        .flat_map(|s| (0..settings.runs).map(move |i| (s, settings.seed.unwrap_or(s.seed).wrapping_add(i))));
    for (scenario, seed) in runs {
        // Wall time is for the reader only; nothing in the run depends on it.
        let wall = std::time::Instant::now();
        let report = run::run(scenario, seed, options);
        let wall_s = wall.elapsed().as_secs_f64();
        let converged = report
            .converged_ms
            .map_or(String::new(), |ms| format!("  converged in {ms} ms"));
        let verdict = if report.failure.is_none() { "PASS" } else { "FAIL" };
        println!(
            "{verdict}  {}  seed {seed}  sim {}.{:03}s{converged}  (wall {wall_s:.2}s)",
            scenario.name,
            report.sim_ms / 1000,
            report.sim_ms % 1000
        );
        if let Some(failure) = &report.failure {
            let what = match failure.kind {
                FailureKind::Safety => "wrong answer or broken invariant",
                FailureKind::Liveness => "no convergence",
            };
            println!("  {what} at {}: {}", failure.place, failure.message);
            println!(
                "  reproduce: cargo run -p herd-sim -- run {} --seed {seed}",
                scenario.path
            );
            let this = match failure.kind {
                FailureKind::Safety => EXIT_SAFETY,
                FailureKind::Liveness => EXIT_LIVENESS,
            };
            code = if code == 0 { this } else { code.min(this) };
        }
        traces.push_str(&report.trace);
    }
    if let Some(path) = &settings.trace_file {
        std::fs::write(path, traces).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(code)
}
