//! `herd-sim mutate FILE...`: runs each scenario on the correct servers and
//! then under every bug of the catalogue (`herd::bugs::Bug::ALL`), and says
//! which bugs it catches. A scenario that catches none tests nothing the
//! catalogue knows of, and is flagged.

use clap::Args;
use herd::bugs::Bug;

use super::{ScenarioArgs, EXIT_USAGE};
use crate::report::command::Invocation;
use crate::report::progress::Progress;
use crate::report::{Outcome, Rerun};
use crate::scenario::Scenario;
use crate::{driver, Options};

/// Some scenario catches no bug of the catalogue.
pub const EXIT_CATCHES_NONE: u8 = 1;
/// Some scenario fails on the correct servers, so its catches mean nothing.
pub const EXIT_FAILS_UNMUTATED: u8 = 2;

#[derive(Args, Debug)]
pub struct MutateArgs {
    #[command(flatten)]
    pub scenarios: ScenarioArgs,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// What one scenario catches.
pub struct Verdict {
    pub scenario: String,
    /// The failure on the correct servers, if any.
    pub unmutated: Option<Outcome>,
    /// Each bug and the failing run that caught it, in catalogue order.
    pub bugs: Vec<(Bug, Option<Outcome>)>,
}

impl Verdict {
    pub fn caught(&self) -> impl Iterator<Item = Bug> + '_ {
        self.bugs.iter().filter(|(_, o)| o.is_some()).map(|(b, _)| *b)
    }
}

/// Runs `scenario` with `seed` unmutated, then (if that passes) under each bug.
pub fn mutate(scenario: &Scenario, seed: u64, mut done: impl FnMut()) -> Verdict {
    let mut outcome = |bug: Option<Bug>| {
        let wall = std::time::Instant::now();
        let report = driver::run(
            scenario,
            seed,
            Options {
                bug,
                ..Options::default()
            },
        );
        done();
        Some(Outcome::of(scenario, seed, &report, wall.elapsed().as_secs_f64())).filter(|o| !o.passed())
    };
    let unmutated = outcome(None);
    let bugs = match unmutated {
        Some(_) => Vec::new(),
        None => Bug::ALL.iter().map(|&bug| (bug, outcome(Some(bug)))).collect(),
    };
    Verdict {
        scenario: scenario.name.clone(),
        unmutated,
        bugs,
    }
}

impl MutateArgs {
    pub fn execute(self) -> u8 {
        let Some(scenarios) = self.scenarios.load() else {
            return EXIT_USAGE;
        };
        let bugs = Bug::ALL.len();
        let plural = if scenarios.len() == 1 { "" } else { "s" };
        println!(
            "mutate: {} scenario{plural}, each on the correct servers and under {bugs} bugs (seed: {})",
            scenarios.len(),
            self.scenarios
                .seed
                .map_or("each scenario's own".to_string(), |s| s.to_string())
        );
        let invocation = Invocation::current();
        let total = (scenarios.len() * (bugs + 1)) as u64;
        let progress = Progress::new("mutate", "runs", total, !self.quiet);
        let (mut runs, mut code) = (0, 0);
        let mut caught_by_any = std::collections::BTreeSet::new();
        let mut toothless = Vec::new();
        for scenario in &scenarios {
            let seed = self.scenarios.seed.unwrap_or(scenario.seed);
            let verdict = mutate(scenario, seed, || {
                runs += 1;
                progress.set(runs, format!("scenario {}", scenario.name));
            });
            caught_by_any.extend(verdict.caught());
            progress.suspend(|| print(&verdict, scenario, seed, &invocation));
            if verdict.unmutated.is_some() {
                code = EXIT_FAILS_UNMUTATED;
            } else if verdict.caught().next().is_none() {
                toothless.push(scenario.path.clone());
                code = code.max(EXIT_CATCHES_NONE);
            }
        }
        progress.finish();
        let missed: Vec<&str> = Bug::ALL
            .iter()
            .filter(|b| !caught_by_any.contains(*b))
            .map(|b| b.name())
            .collect();
        if !missed.is_empty() {
            println!("bugs no scenario caught: {}", missed.join(", "));
        }
        if !toothless.is_empty() {
            println!("scenarios that catch no bug: {}", toothless.join(", "));
        }
        code
    }
}

fn print(verdict: &Verdict, scenario: &Scenario, seed: u64, invocation: &Invocation) {
    if let Some(failed) = &verdict.unmutated {
        println!(
            "{}  seed {seed}  FAILS on the correct servers: fix it first",
            verdict.scenario
        );
        for line in failed
            .failure_lines(invocation, &Rerun::simulated(None))
            .into_iter()
            .flatten()
        {
            println!("{line}");
        }
        return;
    }
    println!("{}  seed {seed}  passes on the correct servers", verdict.scenario);
    let width = Bug::ALL.iter().map(|b| b.name().len()).max().unwrap_or(0);
    for (bug, caught) in &verdict.bugs {
        match caught.as_ref().and_then(|o| o.failure.as_ref()) {
            Some(f) => {
                let step = f
                    .step
                    .as_ref()
                    .map_or(String::new(), |s| format!(" ({})", s.describe()));
                println!(
                    "  caught  {:width$}  {} at {}{step}",
                    bug.name(),
                    f.class,
                    f.place
                );
            }
            None => println!("  missed  {}", bug.name()),
        }
    }
    let caught: Vec<&str> = verdict.caught().map(Bug::name).collect();
    match caught.len() {
        0 => println!(
            "  CATCHES NO BUG: {} passes whatever bug of the catalogue the servers have",
            scenario.path
        ),
        n => println!("  catches {n} of {} bugs", verdict.bugs.len()),
    }
}
