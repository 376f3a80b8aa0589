//! The fault explorer: every seed of a range becomes a whole random
//! scenario (`generate/`), which runs like any scenario file; a failing
//! seed is written out as a scenario file, replayed from that file, and
//! shrunk (`shrink.rs`) to a small scenario that fails the same way. The
//! command line is in `cli.rs`. See docs/explorer.md.

pub mod cli;
pub mod dice;
pub mod generate;
pub mod results;
pub mod shrink;

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use herd::bugs::Bug;
use herd::config::HerdConfig;

use crate::driver::{run, Options, Report};
use crate::oracle::{FailureKind, ViolationKind};
use crate::report::command::Invocation;
use crate::report::progress::Progress;
use crate::scenario::write;
use results::SeedResult;
use shrink::shrink;

/// Sweeps of at most this many seeds print every seed's parameters.
const PRINT_ALL_PARAMS_UP_TO: u64 = 20;

pub struct Config {
    pub seeds: Range<u64>,
    /// `(i, n)`: this machine runs the i-th (1-based) of n interleaved slices.
    pub shard: (u64, u64),
    /// A herd to explore (`--herd`: its topology and tuning, and its table
    /// to write into scenario files) instead of drawing one per seed.
    pub herd: Option<(HerdConfig, Option<toml::Table>)>,
    pub out: PathBuf,
    pub bug: Option<Bug>,
    /// Go on after the first failure (each failure is written and shrunk).
    pub keep_going: bool,
    /// Simulation runs one shrink may spend.
    pub shrink_runs: usize,
    pub verbose: bool,
    /// Show a progress line on stderr.
    pub progress: bool,
}

/// One failing seed.
#[derive(Debug, Clone)]
pub struct Finding {
    pub seed: u64,
    pub kind: FailureKind,
    pub class: ViolationKind,
    pub message: String,
    /// The whole generated scenario, as a file.
    pub file: PathBuf,
    /// Whether running that file gave the same failure.
    pub replayed: bool,
    /// The shrunk scenario file and its number of steps.
    pub shrunk: Option<(PathBuf, usize)>,
    /// Seeds run up to and including this one.
    pub seeds_run: u64,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub seeds_run: u64,
    pub findings: Vec<Finding>,
    pub wall_s: f64,
    /// Every seed run, in order.
    pub results: Vec<SeedResult>,
}

impl Summary {
    /// The exit code: 0 all passed, 1 a safety failure, 2 only liveness.
    pub fn exit_code(&self) -> u8 {
        let kinds = self.findings.iter().map(|f| f.kind);
        kinds.map(exit_code).min().unwrap_or(0)
    }
}

pub fn exit_code(kind: FailureKind) -> u8 {
    match kind {
        FailureKind::Safety => 1,
        FailureKind::Liveness => 2,
    }
}

/// The seeds of `range` that shard `i` of `n` (1-based) runs.
pub fn shard_seeds(range: Range<u64>, (i, n): (u64, u64)) -> impl Iterator<Item = u64> {
    let start = range.start;
    range.filter(move |s| (s - start) % n == i - 1)
}

fn bug_flag(bug: Option<Bug>) -> String {
    bug.map_or(String::new(), |b| format!(" --bug {b}"))
}

pub fn explore(config: &Config, out: &mut dyn Write) -> std::io::Result<Summary> {
    let seeds: Vec<u64> = shard_seeds(config.seeds.clone(), config.shard).collect();
    let total = seeds.len() as u64;
    writeln!(
        out,
        "explore seeds {}..{} (shard {}/{}: {total} seeds), {}{}",
        config.seeds.start,
        config.seeds.end,
        config.shard.0,
        config.shard.1,
        match &config.herd {
            Some((herd, _)) => format!("the given herd of {} servers", herd.servers.len()),
            None => "a herd drawn per seed".to_string(),
        },
        config.bug.map_or(String::new(), |b| format!(", bug {b}")),
    )?;
    let options = Options {
        bug: config.bug,
        lean: true,
        ..Options::default()
    };
    // Wall time is for the reader only; nothing in a run depends on it.
    let wall = Instant::now();
    let progress = Progress::new("explore", "seeds", total, config.progress);
    let mut findings = Vec::new();
    let mut results = Vec::new();
    let mut seeds_run = 0;
    for seed in seeds {
        let generated = generate::generate(seed, config.herd.as_ref(), config.bug);
        let params = &generated.params;
        if config.verbose || total <= PRINT_ALL_PARAMS_UP_TO {
            progress.suspend(|| writeln!(out, "{params}"))?;
        }
        let report = run(&generated.scenario, seed, options);
        seeds_run += 1;
        results.push(SeedResult::of(seed, generated.scenario.steps.len(), &report));
        if report.failure.is_some() {
            let finding = progress.suspend(|| {
                if !(config.verbose || total <= PRINT_ALL_PARAMS_UP_TO) {
                    writeln!(out, "{params}")?;
                }
                investigate(config, options, &generated, &report, seeds_run, out)
            })?;
            results.last_mut().expect("this seed's result").found(&finding);
            findings.push(finding);
        }
        progress.set(seeds_run, format!("{} failing", findings.len()));
        if report.failure.is_some() && !config.keep_going {
            break;
        }
    }
    progress.finish();
    let wall_s = wall.elapsed().as_secs_f64();
    writeln!(
        out,
        "explored {seeds_run} seeds in {wall_s:.1} s ({:.1} seeds/s): {} failing{}",
        seeds_run as f64 / wall_s.max(1e-9),
        findings.len(),
        if findings.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = findings.iter().map(|f| f.seed.to_string()).collect();
            format!(" (seeds {})", list.join(", "))
        }
    )?;
    Ok(Summary {
        seeds_run,
        findings,
        wall_s,
        results,
    })
}

/// Writes a failing seed's scenario, replays it from the file, shrinks it
/// and writes the shrunk one.
fn investigate(
    config: &Config,
    options: Options,
    generated: &generate::Generated,
    report: &Report,
    seeds_run: u64,
    out: &mut dyn Write,
) -> std::io::Result<Finding> {
    let scenario = &generated.scenario;
    let herd_table = generated.herd_table.as_ref();
    let failure = report.failure.clone().expect("a failing report");
    let seed = scenario.seed;
    let class = failure.violation.kind();
    let message = failure.message();
    let what = match failure.kind() {
        FailureKind::Safety => "safety",
        FailureKind::Liveness => "liveness",
    };
    writeln!(
        out,
        "FAIL  seed {seed}: {what} ({class}) at {}: {message}",
        failure.place
    )?;
    std::fs::create_dir_all(&config.out)?;
    let file = config.out.join(format!("seed_{seed}.toml"));
    let bug = bug_flag(config.bug);
    let program = Invocation::current().program().to_string();
    let header = |name: &Path, note: &str| {
        vec![
            format!(
                "Seed {seed} of the fault explorer{}; {note}.",
                config.bug.map_or(String::new(), |b| format!(" with bug {b}"))
            ),
            format!("Fails: {what} ({class}): {}", one_line(&message)),
            format!("Replay: {program} run {}{bug}", name.display()),
        ]
    };
    let text = write::to_toml(
        scenario,
        herd_table,
        &header(&file, "the whole generated scenario"),
    )
    .map_err(std::io::Error::other)?;
    std::fs::write(&file, text)?;
    let replayed = same_failure_from_file(&file, options, report);
    writeln!(
        out,
        "  wrote {} ({} steps); replayed from the file: {}",
        file.display(),
        scenario.steps.len(),
        if replayed {
            "same failure"
        } else {
            "DIFFERENT outcome"
        }
    )?;
    let mut finding = Finding {
        seed,
        kind: failure.kind(),
        class,
        message: message.clone(),
        file: file.clone(),
        replayed,
        shrunk: None,
        seeds_run,
    };
    if let Some(shrunk) = shrink(scenario, report, options, config.shrink_runs) {
        let small = config.out.join(format!("seed_{seed}_shrunk.toml"));
        let result = run(&shrunk.scenario, seed, options);
        let message = result
            .failure
            .as_ref()
            .map_or(String::new(), |f| one_line(&f.message()));
        let mut comments = header(&small, "shrunk");
        comments[1] = format!("Fails: {what} ({class}): {message}");
        let text = write::to_toml(&shrunk.scenario, herd_table, &comments).map_err(std::io::Error::other)?;
        std::fs::write(&small, text)?;
        let steps = shrunk.scenario.steps.len();
        writeln!(
            out,
            "  shrunk to {steps} steps, {} ms, in {} runs: {}",
            shrunk.scenario.end_ms,
            shrunk.runs,
            small.display()
        )?;
        writeln!(out, "  reproduce: {program} run {}{bug}", small.display())?;
        finding.shrunk = Some((small, steps));
    } else {
        writeln!(out, "  reproduce: {program} run {}{bug}", file.display())?;
    }
    Ok(finding)
}

/// Loads `file` and runs it: does it fail exactly as `report` did?
pub fn same_failure_from_file(file: &Path, options: Options, report: &Report) -> bool {
    let Ok(loaded) = crate::scenario::load(file) else {
        return false;
    };
    let again = run(&loaded, loaded.seed, options);
    match (&again.failure, &report.failure) {
        (Some(a), Some(b)) => a.violation == b.violation,
        (None, None) => true,
        _ => false,
    }
}

fn one_line(text: &str) -> String {
    let line = text.replace('\n', " ");
    if line.len() > 300 {
        let cut: String = line.chars().take(300).collect();
        format!("{cut}...")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_seed_once() {
        for n in 1..6 {
            let mut all: Vec<u64> = (1..=n).flat_map(|i| shard_seeds(10..47, (i, n))).collect();
            all.sort_unstable();
            assert_eq!(all, (10..47).collect::<Vec<_>>(), "{n} shards");
        }
    }
}
