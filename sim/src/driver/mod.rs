//! Runs one scenario with one seed: the herd in a simulated `World`, the
//! timeline's steps applied between ticks (`steps.rs`), clients on client
//! hosts that live for the whole run (`clients.rs`, each connection's
//! talking in `talk.rs`, which external mode shares), every record and every
//! finished exchange judged as it comes (`judge.rs`), `converged` steps
//! waited for (`converge.rs`). The result is a `Report`: the trace, the
//! records, and the first failure.

mod abuse;
mod clients;
mod converge;
pub(crate) mod judge;
pub(crate) mod prepare;
mod steps;
mod stress;
pub(crate) mod talk;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use herd::bugs::Bug;

use self::clients::Clients;
use self::converge::Waiting;
use self::judge::Judge;
use crate::observe::trace::{self, TraceOptions};
use crate::observe::{Log, Note, Record, Recorder};
use crate::oracle::{FailureKind, Harm, View, Violation};
use crate::scenario::{Action, Scenario};
use crate::world::links::settle;
use crate::world::{ServerSetup, World, TICK};

/// How long a client waits for the server to close, unless it says.
pub(crate) const CLIENT_TIMEOUT_MS: u64 = 10_000;
/// The radius and bound of the WHATSATs that read an update back (after
/// an ack, and when polling): a small answer, whatever Places says.
pub(crate) const READ_ARGS: &str = "1 1";

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// `file:line` of the step that failed, `invariant` or `simulation`.
    pub place: String,
    pub violation: Violation,
}

impl Failure {
    pub(crate) fn at(place: &str, violation: Violation) -> Self {
        Self {
            place: place.to_string(),
            violation,
        }
    }

    pub fn kind(&self) -> FailureKind {
        self.violation.failure_kind()
    }

    pub fn message(&self) -> String {
        self.violation.to_string()
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub trace: String,
    pub failure: Option<Failure>,
    /// Simulated time the run took.
    pub sim_ms: u64,
    /// The longest time a `converged` step waited.
    pub converged_ms: Option<u64>,
    /// Every record of the run, heartbeats included: what the trace, the
    /// diagram and the statistics are made of.
    pub records: Vec<Record>,
    /// Steps a run could not carry out, and checks it could make only in
    /// part; always empty in simulation (see `external`).
    pub caveats: Vec<Caveat>,
}

/// A step left out of a run (`skipped`), or a check made only in part: a
/// run with a skipped step has not passed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caveat {
    /// `file:line` of the step, or what the caveat is about.
    pub place: String,
    pub what: String,
    pub skipped: bool,
}

impl std::fmt::Display for Caveat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.skipped { "skipped" } else { "note" };
        write!(f, "{how} at {}: {}", self.place, self.what)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep heartbeats in the trace.
    pub show_heartbeats: bool,
    /// One bug of the catalogue (herd::bugs) every server runs with.
    pub bug: Option<Bug>,
    /// Judge each record and let it go: no trace, records or statistics in
    /// the report (the explorer's runs, which only need the verdict).
    pub lean: bool,
}

/// What the steps act on.
struct Parts<'r, 'a> {
    world: &'r mut World<'a>,
    clients: &'r mut Clients,
    judge: &'r mut Judge,
    log: &'r Log,
    /// The `{now}` each client step with an id sent last, by id.
    sent: BTreeMap<String, String>,
}

pub fn run(scenario: &Scenario, seed: u64, options: Options) -> Report {
    let log = if options.lean { Log::lean() } else { Log::default() };
    let note = Note::Seed {
        seed,
        scenario: scenario.name.clone(),
    };
    log.note(Duration::ZERO, note);
    // Each server checks its tuning when it starts, as `herd serve` does.
    if let Err(message) = scenario.world.check(&scenario.herd, options.bug) {
        let expected = scenario.world.refused.as_deref() == Some(message.as_str());
        log.note(
            Duration::ZERO,
            Note::Refused {
                message: message.clone(),
            },
        );
        let failure =
            (!expected).then(|| Failure::at("herd", Violation::Harm(Harm::TuningRefused { message })));
        return report(&log, scenario, options, failure, Duration::ZERO, None);
    }
    // A server task that panics takes the simulation down with it (turmoil
    // re-raises it): that is a failure of the run, not of the explorer.
    let driven = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let herd = Arc::new(scenario.herd.clone());
        let mut world = World::new(herd, &scenario.network, seed);
        let recorders = log.clone();
        world.start_servers(ServerSetup {
            seed,
            bug: options.bug,
            observer: Box::new(move |name, incarnation| {
                Arc::new(Recorder::new(name, incarnation, recorders.clone()))
            }),
            world: scenario.world.clone(),
            log: log.clone(),
        });
        let mut clients = Clients::new(log.clone());
        let mut judge = Judge::new(&scenario.herd, &scenario.world);
        let mut run = Run {
            scenario,
            parts: Parts {
                world: &mut world,
                clients: &mut clients,
                judge: &mut judge,
                log: &log,
                sent: BTreeMap::new(),
            },
            cursor: 0,
            converged_ms: None,
        };
        let failure = run.drive().err();
        let converged_ms = run.converged_ms;
        (failure, world.now(), converged_ms)
    }));
    let (mut failure, now, converged_ms) = driven.unwrap_or_else(|panic| {
        let error = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
            (Some(text), _) => text.to_string(),
            (_, Some(text)) => text.clone(),
            _ => "a panic".to_string(),
        };
        let failure = Failure::at("simulation", Violation::HostFailed { error });
        (Some(failure), log.last_at(), None)
    });
    // Judged last, so that what such tuning does to a run shows first.
    if let (None, Some(refused)) = (&failure, &scenario.world.refused) {
        let harm = Harm::TuningAccepted {
            refused: refused.clone(),
        };
        failure = Some(Failure::at("herd", Violation::Harm(harm)));
    }
    report(&log, scenario, options, failure, now, converged_ms)
}

fn report(
    log: &Log,
    scenario: &Scenario,
    options: Options,
    failure: Option<Failure>,
    now: Duration,
    converged_ms: Option<u64>,
) -> Report {
    if let Some(f) = &failure {
        let note = Note::Fail {
            place: f.place.clone(),
            message: f.message(),
        };
        log.note(now, note);
    }
    let records = log.records();
    let options = TraceOptions {
        heartbeats: options.show_heartbeats,
        messages: scenario.trace_messages,
    };
    Report {
        trace: trace::render(&records, options),
        failure,
        sim_ms: now.as_millis() as u64,
        converged_ms,
        records,
        caveats: Vec::new(),
    }
}

struct Run<'r, 'a> {
    scenario: &'r Scenario,
    parts: Parts<'r, 'a>,
    /// Records judged so far.
    cursor: usize,
    converged_ms: Option<u64>,
}

impl Run<'_, '_> {
    fn drive(&mut self) -> Result<(), Failure> {
        let steps = &self.scenario.steps;
        let mut next = 0;
        let mut waiting: Option<Waiting> = None;
        loop {
            let now = self.parts.world.now();
            let now_ms = now.as_millis() as u64;
            while waiting.is_none() && next < steps.len() && steps[next].at_ms <= now_ms {
                let step = &steps[next];
                next += 1;
                if let Action::Converged { within_ms, poll, .. } = step.action {
                    self.parts.log.note(now, Note::Waiting { within_ms });
                    waiting = Some(Waiting::new(&step.place, now, within_ms, poll));
                } else {
                    steps::apply(&mut self.parts, &step.action, &step.place)?;
                }
                self.observe()?;
            }
            self.observe()?;
            self.parts.judge.acks(&mut *self.parts.world, self.parts.log)?;
            self.parts.judge.finished(&mut *self.parts.world)?;
            if let Some(w) = &mut waiting {
                if let Some(took) = w.check(&mut self.parts)? {
                    let clients = self.parts.judge.inside.told.clients();
                    self.parts.log.note(
                        now,
                        Note::Converged {
                            after_ms: took,
                            clients,
                        },
                    );
                    self.converged_ms = Some(self.converged_ms.map_or(took, |m| m.max(took)));
                    waiting = None;
                    continue;
                }
            }
            let done = next == steps.len() && waiting.is_none();
            if done && now_ms >= self.scenario.end_ms && self.parts.judge.waiting() == 0 {
                self.parts.log.note(now, Note::End);
                return Ok(());
            }
            if done {
                self.parts.judge.stragglers(now, self.scenario.end_ms)?;
            }
            self.parts
                .world
                .step()
                .map_err(|error| Failure::at("simulation", Violation::HostFailed { error }))?;
        }
    }

    /// Every new record through the inside view, and the Places requests.
    fn observe(&mut self) -> Result<(), Failure> {
        let judge = &mut *self.parts.judge;
        let world = &*self.parts.world;
        let (links, now) = (world.links(), world.now());
        let settle = settle(&world.herd().tuning);
        let steady = |a: &str, b: &str| links.steady(a, b, now, settle);
        let view = View {
            spread_ms: links.max_latency_ms() + TICK.as_millis() as u64,
            steady: &steady,
        };
        let mut result = Ok(());
        self.cursor = self.parts.log.each_since(self.cursor, |record| {
            if result.is_ok() {
                result = judge.inside.observe(record, &view);
            }
        });
        result
            .and_then(|()| judge.inside.places_requests(self.parts.world.take_places_radii()))
            .map_err(|v| Failure::at("invariant", v))
    }
}
