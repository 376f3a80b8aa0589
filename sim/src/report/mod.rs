//! What a command tells its reader about runs: a line per run, what
//! failed where and how to run it again, the totals, and the same as JSON.
//! Every mode that runs scenarios prints through here. Also here: how the
//! process was started (`command.rs`), the progress of a sweep
//! (`progress.rs`) and the folder a run's files go to (`results.rs`).

pub mod command;
pub mod progress;
pub mod results;

use std::collections::BTreeSet;

use herd::bugs::Bug;
use serde_json::{json, Value};

use self::command::Invocation;
use crate::driver::{Caveat, Report};
use crate::observe::stats::{self, Stats};
use crate::oracle::{FailureKind, ViolationKind};
use crate::scenario::Scenario;

/// One run of one scenario, as reported.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: String,
    /// The scenario file as given.
    pub path: String,
    pub seed: u64,
    pub sim_ms: u64,
    pub wall_s: f64,
    /// The longest any `converged` step waited for the herd to agree.
    pub convergence_wait_ms: Option<u64>,
    pub stats: Option<Stats>,
    pub failure: Option<Failed>,
    /// Steps a mode could not carry out, and checks it made only in part.
    pub caveats: Vec<Caveat>,
}

/// What failed, where.
#[derive(Debug, Clone)]
pub struct Failed {
    pub kind: FailureKind,
    pub class: ViolationKind,
    /// `file:line` of the step, `invariant` or `simulation`.
    pub place: String,
    pub step: Option<StepRef>,
    pub message: String,
}

/// The step a failure is at.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRef {
    /// Its `[[step]]` in the file, from 1; `None` for a generated step.
    pub number: Option<usize>,
    pub action: &'static str,
    pub at_ms: u64,
}

impl Outcome {
    /// The outcome of `report`, a run of `scenario` with `seed`.
    pub fn of(scenario: &Scenario, seed: u64, report: &Report, wall_s: f64) -> Self {
        let failure = report.failure.as_ref().map(|f| Failed {
            kind: f.kind(),
            class: f.violation.kind(),
            place: f.place.clone(),
            step: step_at(scenario, &f.place),
            message: f.message(),
        });
        Self {
            scenario: scenario.name.clone(),
            path: scenario.path.clone(),
            seed,
            sim_ms: report.sim_ms,
            wall_s,
            convergence_wait_ms: report.converged_ms,
            stats: Some(stats::of_run(&report.records, &scenario.herd, report.sim_ms)),
            failure,
            caveats: report.caveats.clone(),
        }
    }

    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// Nothing failed, but a step was left out: the run has not passed it.
    pub fn skipped(&self) -> bool {
        self.passed() && self.caveats.iter().any(|c| c.skipped)
    }

    /// `PASS`, `SKIP` or `FAIL`.
    pub fn verdict(&self) -> &'static str {
        match (self.passed(), self.skipped()) {
            (false, _) => "FAIL",
            (true, true) => "SKIP",
            (true, false) => "PASS",
        }
    }

    /// The run's line, then a line for each caveat.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(self.line()).chain(self.caveats.iter().map(|c| format!("  {c}")))
    }

    /// `PASS  name  seed 8  sim 2.000 s  convergence wait 12 ms  msgs/update 8.0  propagation p99 3 ms  (wall 0.03 s)`.
    pub fn line(&self) -> String {
        let verdict = self.verdict();
        let wait = self
            .convergence_wait_ms
            .map_or(String::new(), |ms| format!("  convergence wait {ms} ms"));
        let stats = self
            .stats
            .as_ref()
            .map_or(String::new(), |s| format!("  {}", s.summary()));
        format!(
            "{verdict}  {}  seed {}  sim {}{wait}{stats}  (wall {:.2} s)",
            self.scenario,
            self.seed,
            seconds(self.sim_ms),
            self.wall_s
        )
    }

    /// What failed and where, then how to reproduce it (`None` when passed).
    pub fn failure_lines(&self, invocation: &Invocation, rerun: &Rerun) -> Option<[String; 2]> {
        let f = self.failure.as_ref()?;
        let what = match f.kind {
            FailureKind::Safety => "wrong answer or broken invariant",
            FailureKind::Liveness => "no convergence",
        };
        let vary = if rerun.replays {
            ""
        } else {
            " (wall-clock runs vary)"
        };
        let step = f
            .step
            .as_ref()
            .map_or(String::new(), |s| format!(" ({})", s.describe()));
        Some([
            format!("  {what} at {}{step}: {}", f.place, f.message),
            format!(
                "  reproduce{vary}: {}",
                reproduce(invocation, &self.path, self.seed, &rerun.flags)
            ),
        ])
    }

    /// The run as a JSON object: the command, the run, the failure (or
    /// null), then the statistics.
    pub fn json(&self, command: &str) -> Value {
        let failure = self.failure.as_ref().map(|f| {
            json!({
                "kind": kind_name(f.kind),
                "class": f.class.name(),
                "place": f.place,
                "step": f.step.as_ref().map(|s| json!({ "number": s.number, "do": s.action, "at_ms": s.at_ms })),
                "message": f.message,
            })
        });
        let mut entry = json!({
            "command": command,
            "scenario": self.scenario,
            "path": self.path,
            "seed": self.seed,
            // A run with a step left out has not passed it.
            "pass": self.verdict() == "PASS",
            "sim_ms": self.sim_ms,
            "convergence_wait_ms": self.convergence_wait_ms,
            "failure": failure,
        });
        if !self.caveats.is_empty() {
            entry["caveats"] = self.caveats.iter().map(ToString::to_string).collect();
        }
        if let (Some(map), Some(Ok(Value::Object(more)))) = (
            entry.as_object_mut(),
            self.stats.as_ref().map(serde_json::to_value),
        ) {
            map.extend(more);
        }
        entry
    }
}

impl StepRef {
    /// `step 4: holds at 2000 ms`.
    pub fn describe(&self) -> String {
        match self.number {
            Some(n) => format!("step {n}: {} at {} ms", self.action, self.at_ms),
            None => format!("{} at {} ms", self.action, self.at_ms),
        }
    }
}

/// The step at `place` (`file:line`), numbered as in its file.
fn step_at(scenario: &Scenario, place: &str) -> Option<StepRef> {
    let step = scenario.steps.iter().find(|s| s.place == place)?;
    let line = |place: &str| place.rsplit_once(':').and_then(|(_, l)| l.parse::<usize>().ok());
    let lines: BTreeSet<usize> = scenario.steps.iter().filter_map(|s| line(&s.place)).collect();
    Some(StepRef {
        number: line(place).map(|l| lines.range(..l).count() + 1),
        action: step.action.name(),
        at_ms: step.at_ms,
    })
}

/// How a run is made again: besides its scenario and seed, the flags that
/// chose the herd it ran against.
#[derive(Debug, Clone)]
pub struct Rerun {
    pub flags: Vec<String>,
    /// The same seed makes the same run (simulation, not the wall clock).
    pub replays: bool,
}

impl Rerun {
    /// A simulated herd, with `bug` switched on.
    pub fn simulated(bug: Option<Bug>) -> Self {
        let flags = bug.map_or(Vec::new(), |b| vec!["--bug".into(), b.name().into()]);
        Self { flags, replays: true }
    }
}

/// The command that runs `path` again with `seed` and `flags`.
pub fn reproduce(invocation: &Invocation, path: &str, seed: u64, flags: &[String]) -> String {
    let seed = seed.to_string();
    let mut words = vec!["run", path, "--seed", &seed];
    words.extend(flags.iter().map(String::as_str));
    invocation.with(&words)
}

/// `safety` or `liveness`, as JSON says it.
pub fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Safety => "safety",
        FailureKind::Liveness => "liveness",
    }
}

/// `2.000 s`.
pub fn seconds(ms: u64) -> String {
    format!("{}.{:03} s", ms / 1000, ms % 1000)
}

/// How many runs passed, failed, and were skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
    /// Runs a mode could not make in full (a scenario or a step it cannot
    /// carry out) and that failed nothing else.
    pub skipped: u64,
}

impl Totals {
    pub fn add(&mut self, outcome: &Outcome) {
        if !outcome.passed() {
            self.failed += 1;
        } else if outcome.skipped() {
            self.skipped += 1;
        } else {
            self.passed += 1;
        }
    }

    /// `22 passed, 0 failed, 0 skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}
