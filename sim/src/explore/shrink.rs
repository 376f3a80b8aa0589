//! Shrinking a failing scenario to a small one that fails the same way.
//!
//! The timeline is cut into units that stand or fall together: a fault
//! and the step that heals it (partition and heal, hold and release, a
//! latency or loss change and its reset, a crash or silent death and the
//! restart, a Places fault and `places ok`), and every other step on its
//! own; so a shrunk scenario still heals every fault it makes. Passes, in
//! rounds until one changes nothing or the run budget is spent:
//! 1. (first round, safety failures) drop every step after the failure,
//!    then make the world plainer: calm links, no rollout, no secret;
//! 2. drop each client's steps all at once;
//! 3. drop units, in halves, quarters, ... down to one at a time (ddmin);
//! 4. halve every gap between steps (shorter times).
//!
//! A candidate is kept when it fails with the same kind of violation
//! (`ViolationKind`: never one failure traded for another), and, with a
//! catalogue bug, also passes without the bug.

use crate::driver::{run, Options, Report};
use crate::oracle::{FailureKind, ViolationKind};
use crate::scenario::{Action, PlacesMode, Scenario, Step, WorldSetup};
use crate::world::setup::Perturb;

/// The kind of violation a report failed with.
fn target(report: &Report) -> Option<ViolationKind> {
    report.failure.as_ref().map(|f| f.violation.kind())
}

pub struct Shrunk {
    pub scenario: Scenario,
    /// Simulations run while shrinking.
    pub runs: usize,
}

struct Shrinker<'a> {
    original: &'a Scenario,
    /// The world as shrunk so far.
    world: WorldSetup,
    target: ViolationKind,
    options: Options,
    budget: usize,
    runs: usize,
}

/// Shrinks `scenario` (which fails as `target` with `options`) within
/// `budget` simulation runs.
pub fn shrink(scenario: &Scenario, report: &Report, options: Options, budget: usize) -> Option<Shrunk> {
    let target = target(report)?;
    let mut s = Shrinker {
        original: scenario,
        world: scenario.world.clone(),
        target,
        options,
        budget,
        runs: 0,
    };
    let mut units = units(scenario.steps.iter().map(|s| s.action.clone()).collect());
    if report
        .failure
        .as_ref()
        .is_some_and(|f| f.kind() == FailureKind::Safety)
    {
        let cut: Vec<Vec<Action>> = units
            .iter()
            .filter(|u| u[0].at_ms() <= report.sim_ms)
            .map(|u| u.iter().filter(|a| a.at_ms() <= report.sim_ms).cloned().collect())
            .collect();
        if cut.len() < units.len() && s.fails(&cut) {
            units = cut;
        }
    }
    s.plainer_world(&units);
    loop {
        let before = (count(&units), span(&units));
        units = s.drop_clients(units);
        units = s.ddmin(units);
        units = s.squeeze(units);
        if (count(&units), span(&units)) == before || s.spent() {
            break;
        }
    }
    Some(Shrunk {
        scenario: s.build(&units),
        runs: s.runs,
    })
}

fn count(units: &[Vec<Action>]) -> usize {
    units.iter().map(Vec::len).sum()
}

fn span(units: &[Vec<Action>]) -> u64 {
    units.iter().flatten().map(Action::at_ms).max().unwrap_or(0)
}

impl Shrinker<'_> {
    fn spent(&self) -> bool {
        self.runs >= self.budget
    }

    fn build(&self, units: &[Vec<Action>]) -> Scenario {
        let mut actions: Vec<Action> = units.iter().flatten().cloned().collect();
        actions.sort_by_key(Action::at_ms);
        let steps: Vec<Step> = actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| Step {
                at_ms: action.at_ms(),
                action,
                place: format!("shrunk step {}", i + 1),
            })
            .collect();
        let end_ms = steps.last().map_or(0, |s| s.at_ms) + 1_000;
        Scenario {
            steps,
            end_ms,
            world: self.world.clone(),
            ..self.original.clone()
        }
    }

    /// Each of calm links, no rollout and no secret, kept if it still fails.
    fn plainer_world(&mut self, units: &[Vec<Action>]) {
        let plainer: [fn(&mut WorldSetup); 3] = [
            |w| w.perturb = Perturb::default(),
            |w| w.tuning_of.clear(),
            |w| w.secret = None,
        ];
        for plain in plainer {
            let before = self.world.clone();
            plain(&mut self.world);
            if self.world != before && !self.fails(units) {
                self.world = before;
            }
        }
    }

    fn fails(&mut self, units: &[Vec<Action>]) -> bool {
        if self.spent() || units.is_empty() {
            return false;
        }
        let scenario = self.build(units);
        self.runs += 1;
        let report = run(&scenario, scenario.seed, self.options);
        if target(&report) != Some(self.target) {
            return false;
        }
        if self.options.bug.is_some() {
            self.runs += 1;
            let clean = Options {
                bug: None,
                ..self.options
            };
            return run(&scenario, scenario.seed, clean).failure.is_none();
        }
        true
    }

    /// Every client's steps at once, one client at a time.
    fn drop_clients(&mut self, mut units: Vec<Vec<Action>>) -> Vec<Vec<Action>> {
        let mut labels: Vec<String> = units.iter().flatten().filter_map(label).collect();
        labels.sort();
        labels.dedup();
        for l in labels {
            let candidate: Vec<Vec<Action>> = units
                .iter()
                .filter(|u| !u.iter().any(|a| label(a).as_deref() == Some(l.as_str())))
                .cloned()
                .collect();
            if candidate.len() < units.len() && self.fails(&candidate) {
                units = candidate;
            }
        }
        units
    }

    /// Removes chunks of units, largest chunks first.
    fn ddmin(&mut self, mut units: Vec<Vec<Action>>) -> Vec<Vec<Action>> {
        let mut chunk = units.len().div_ceil(2);
        while chunk >= 1 && !self.spent() {
            let mut i = 0;
            while i < units.len() && !self.spent() {
                let end = (i + chunk).min(units.len());
                let candidate: Vec<Vec<Action>> = units[..i].iter().chain(&units[end..]).cloned().collect();
                if self.fails(&candidate) {
                    units = candidate;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        units
    }

    /// Halves every gap between consecutive step times, while that still
    /// fails; a `converged` step keeps its own `within_ms`.
    fn squeeze(&mut self, mut units: Vec<Vec<Action>>) -> Vec<Vec<Action>> {
        for _ in 0..6 {
            let mut times: Vec<u64> = units.iter().flatten().map(Action::at_ms).collect();
            times.sort_unstable();
            times.dedup();
            let mut mapped = Vec::with_capacity(times.len());
            let mut last = (0, 0);
            for t in &times {
                let new = last.1 + (t - last.0) / 2;
                mapped.push((*t, new));
                last = (*t, new);
            }
            if mapped.iter().all(|(t, new)| t == new) {
                break;
            }
            let at = |t: u64| {
                mapped
                    .iter()
                    .find(|(old, _)| *old == t)
                    .map_or(t, |(_, new)| *new)
            };
            let candidate: Vec<Vec<Action>> = units
                .iter()
                .map(|u| u.iter().map(|a| a.at(at(a.at_ms()))).collect())
                .collect();
            if self.fails(&candidate) {
                units = candidate;
            } else {
                break;
            }
        }
        units
    }
}

fn label(action: &Action) -> Option<String> {
    match action {
        Action::Client { client, .. } | Action::Probe { client, .. } => Some(client.clone()),
        Action::ManyClients { prefix, .. } | Action::Bulk { prefix, .. } => Some(prefix.clone()),
        _ => None,
    }
}

/// Pairs every fault with the later step that ends it.
pub fn units(actions: Vec<Action>) -> Vec<Vec<Action>> {
    let mut taken = vec![false; actions.len()];
    let mut units = Vec::new();
    for i in 0..actions.len() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let mut unit = vec![actions[i].clone()];
        if let Some(j) = (i + 1..actions.len()).find(|&j| !taken[j] && ends(&actions[i], &actions[j])) {
            taken[j] = true;
            unit.push(actions[j].clone());
        }
        units.push(unit);
    }
    units
}

/// Whether `end` undoes the fault `start`.
fn ends(start: &Action, end: &Action) -> bool {
    use Action::*;
    match (start, end) {
        (
            Partition { a, b, oneway: o1, .. },
            Heal {
                a: a2,
                b: b2,
                oneway: o2,
                ..
            },
        ) => a == a2 && b == b2 && o1 == o2,
        (Hold { a, b, .. }, Release { a: a2, b: b2, .. }) => a == a2 && b == b2,
        (Latency { a, b, .. }, Latency { a: a2, b: b2, .. }) => a == a2 && b == b2,
        (
            Loss { a, b, rate, .. },
            Loss {
                a: a2,
                b: b2,
                rate: r2,
                ..
            },
        ) => *rate > 0.0 && *r2 == 0.0 && a == a2 && b == b2,
        (Crash { server, .. } | SilentDeath { server, .. }, Restart { server: s2, .. }) => server == s2,
        (
            Places { mode, .. },
            Places {
                mode: PlacesMode::Ok, ..
            },
        ) => *mode != PlacesMode::Ok,
        _ => false,
    }
}
