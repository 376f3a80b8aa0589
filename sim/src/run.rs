//! Runs one scenario with one seed: the herd as turmoil hosts, the
//! timeline applied between simulation ticks, the checks after each.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use herd::clock::SharedClock;
use herd::places::Places;
use herd::server::{ServerEnv, ServerState};
use tracing::instrument::WithSubscriber;

use crate::checks::{Book, States};
use crate::clock::{epoch, SimClock};
use crate::determinism::{align_task_ids, ONE_AT_A_TIME};
use crate::judge::{is_iamat, Pending};
use crate::net::SimNet;
use crate::places::PlacesSwitch;
use crate::scenario::{Action, Scenario};
use crate::trace::Trace;
use crate::wiremock_places::WiremockPlaces;

/// How often the invariants are checked between steps, in simulated ms.
const INVARIANT_EVERY_MS: u64 = 50;
/// How long a client waits for the server to close, unless it says.
pub(crate) const CLIENT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A wrong answer or a broken invariant.
    Safety,
    /// The herd did not converge in time.
    Liveness,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: FailureKind,
    /// `file:line` of the step that failed, or `invariant`.
    pub place: String,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub trace: String,
    pub failure: Option<Failure>,
    /// Simulated time the run took.
    pub sim_ms: u64,
    /// The longest time a `converged` step waited.
    pub converged_ms: Option<u64>,
    /// Every event as data, messages and heartbeats included (see
    /// `trace::Record`): what the diagram and the statistics are made of.
    pub records: Vec<crate::trace::Record>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Keep heartbeats (DEBUG events) in the trace.
    pub show_heartbeats: bool,
    /// One bug of the catalogue (herd::bugs) every server runs with.
    pub bug: Option<herd::bugs::Bug>,
}

pub(crate) struct Driver<'a> {
    pub(crate) scenario: &'a Scenario,
    pub(crate) sim: turmoil::Sim<'a>,
    pub(crate) trace: Trace,
    pub(crate) states: Rc<RefCell<States>>,
    pub(crate) live: BTreeSet<String>,
    pub(crate) book: Book,
    pub(crate) places: WiremockPlaces,
    pub(crate) pending: Vec<Pending>,
    pub(crate) host_names: BTreeMap<String, usize>,
    pub(crate) converged_ms: Option<u64>,
    /// Crashes (plain or silent) so far, per server.
    pub(crate) crashes: BTreeMap<String, u32>,
}

pub fn run(scenario: &Scenario, seed: u64, options: Options) -> Report {
    // Concurrent runs (parallel tests) would interleave task numbers.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    align_task_ids();
    let trace = Trace::new(options.show_heartbeats, scenario.trace_messages);
    let mut builder = turmoil::Builder::new();
    builder
        .epoch(epoch())
        .rng_seed(seed)
        .simulation_duration(Duration::from_secs(365 * 24 * 3600))
        .min_message_latency(Duration::from_millis(scenario.network.latency_ms[0]))
        .max_message_latency(Duration::from_millis(scenario.network.latency_ms[1]))
        .fail_rate(scenario.network.loss)
        // Catch-up dumps of many clients arrive as many segments at once.
        .tcp_capacity(1 << 16);
    let sim = builder.build();
    let places = WiremockPlaces::start(PlacesSwitch::default());
    let timeout = Duration::from_millis(scenario.herd.tuning.places_timeout_ms);
    let backend = places.backend(timeout);
    let mut driver = Driver {
        scenario,
        sim,
        trace: trace.clone(),
        states: Rc::default(),
        live: BTreeSet::new(),
        book: Book::default(),
        places,
        pending: Vec::new(),
        host_names: BTreeMap::new(),
        converged_ms: None,
        crashes: BTreeMap::new(),
    };
    trace.push(
        Duration::ZERO,
        "sim",
        "seed",
        "",
        &format!("{seed} scenario {}", scenario.name),
    );
    driver.add_servers(seed, backend, options.bug);
    let failure = driver.drive().err();
    let sim_ms = driver.sim.elapsed().as_millis() as u64;
    if let Some(f) = &failure {
        trace.push(
            driver.sim.elapsed(),
            "sim",
            "FAIL",
            "",
            &format!("{}: {}", f.place, f.message),
        );
    }
    Report {
        trace: trace.text(),
        failure,
        sim_ms,
        converged_ms: driver.converged_ms,
        records: trace.records(),
    }
}

impl<'a> Driver<'a> {
    fn add_servers(&mut self, seed: u64, places: Arc<dyn Places>, bug: Option<herd::bugs::Bug>) {
        let herd = Arc::new(self.scenario.herd.clone());
        for spec in &herd.servers {
            let name = spec.name.clone();
            let herd = herd.clone();
            let states = self.states.clone();
            let trace = self.trace.clone();
            let places = places.clone();
            self.sim.host(spec.name.as_str(), move || {
                // A (re)started server begins with an empty store; the
                // driver inspects the state of the current incarnation.
                let state = ServerState::new(&name, herd.clone());
                states.borrow_mut().insert(name.clone(), state.clone());
                let clock: SharedClock = Arc::new(SimClock);
                let mut env = ServerEnv::new(SimNet, clock, places.clone());
                env.observer = Arc::new(herd::observe::TracingObserver::default());
                env.seed = seed;
                env.bugs = herd::bugs::Bugs::with(bug);
                async move {
                    herd::server::run(state, env, std::future::pending())
                        .await
                        .map_err(|e| e.into())
                }
                .with_subscriber(trace.dispatch(&name))
            });
            self.live.insert(spec.name.clone());
        }
    }

    pub(crate) fn now(&self) -> Duration {
        self.sim.elapsed()
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.sim.elapsed().as_millis() as u64
    }

    pub(crate) fn note(&self, kind: &str, peer: &str, text: &str) {
        self.trace.push(self.now(), "sim", kind, peer, text);
    }

    pub(crate) fn safety(place: &str, message: String) -> Failure {
        Failure {
            kind: FailureKind::Safety,
            place: place.to_string(),
            message,
        }
    }

    pub(crate) fn live_states(&self) -> States {
        let states = self.states.borrow();
        states
            .iter()
            .filter(|(name, _)| self.live.contains(*name))
            .map(|(name, state)| (name.clone(), state.clone()))
            .collect()
    }

    fn drive(&mut self) -> Result<(), Failure> {
        let steps = &self.scenario.steps;
        let mut next = 0;
        // (deadline_ms, started_ms, place) of a `converged` step in progress.
        let mut waiting: Option<(u64, u64, String)> = None;
        let mut last_invariant_ms = 0;
        loop {
            let now_ms = self.now_ms();
            while waiting.is_none() && next < steps.len() && steps[next].at_ms <= now_ms {
                let step = &steps[next];
                next += 1;
                if let Action::Converged { within_ms, .. } = step.action {
                    self.note("converged?", "", &format!("within {within_ms} ms"));
                    waiting = Some((now_ms + within_ms, now_ms, step.place.clone()));
                } else {
                    self.apply(&step.action, &step.place)?;
                }
                self.check_invariants()?;
            }
            self.judge_clients()?;
            if let Some((deadline_ms, started_ms, place)) = &waiting {
                let unanswered = self
                    .pending
                    .iter()
                    .filter(|p| is_iamat(&p.sent) && self.live.contains(&p.server))
                    .count();
                let converged = if unanswered > 0 {
                    Err(format!("{unanswered} IAMATs still without a reply"))
                } else {
                    self.book.check_converged(&self.live_states())
                };
                match converged {
                    Ok(()) => {
                        let took = now_ms - started_ms;
                        self.note(
                            "converged",
                            "",
                            &format!("after {took} ms, {} clients", self.book.clients_told()),
                        );
                        self.converged_ms = Some(self.converged_ms.map_or(took, |m| m.max(took)));
                        waiting = None;
                        continue;
                    }
                    Err(behind) if now_ms >= *deadline_ms => {
                        return Err(Failure {
                            kind: FailureKind::Liveness,
                            place: place.clone(),
                            message: format!(
                                "not converged within {} ms: {behind}",
                                deadline_ms - started_ms
                            ),
                        });
                    }
                    Err(_) => {}
                }
            }
            if now_ms >= last_invariant_ms + INVARIANT_EVERY_MS {
                last_invariant_ms = now_ms;
                self.check_invariants()?;
            }
            let done = next == steps.len() && waiting.is_none();
            if done && now_ms >= self.scenario.end_ms && self.pending.is_empty() {
                self.check_invariants()?;
                self.note("end", "", "");
                return Ok(());
            }
            // Every client gives up by itself; this only guards the driver.
            if done && now_ms >= self.scenario.end_ms + CLIENT_TIMEOUT_MS * 2 {
                return Err(Self::safety(
                    "simulation",
                    format!("{} client replies never came", self.pending.len()),
                ));
            }
            self.check_flood().map_err(|m| Self::safety("invariant", m))?;
            if let Err(e) = self.sim.step() {
                return Err(Self::safety("simulation", format!("a host failed: {e}")));
            }
        }
    }

    pub(crate) fn check_invariants(&mut self) -> Result<(), Failure> {
        let states = self.live_states();
        self.book
            .check_invariants(&states)
            .and_then(|()| self.book.check_radii(self.places.take_radii()))
            .and_then(|()| self.check_flood())
            .map_err(|m| Self::safety("invariant", m))
    }

    /// Cheap, so checked every tick: a forwarding loop multiplies messages
    /// faster than the invariants' 50 ms would notice in time.
    fn check_flood(&self) -> Result<(), String> {
        let servers = self.scenario.herd.servers.len();
        self.book.check_flood(self.trace.counts(), servers)
    }

    /// A fresh turmoil host name for a client: its label, numbered from the
    /// second use on, since turmoil host names are unique.
    pub(crate) fn host_name(&mut self, label: &str) -> String {
        let n = self.host_names.entry(label.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            label.to_string()
        } else {
            format!("{label}~{n}")
        }
    }

    pub(crate) fn port(&self, server: &str) -> u16 {
        self.scenario.herd.server(server).map_or(0, |s| s.port)
    }

    /// The simulated POSIX time, as a client would print it.
    pub(crate) fn now_text(&self) -> String {
        let since = self.sim.since_epoch();
        format!("{}.{:09}", since.as_secs(), since.subsec_nanos())
    }
}
