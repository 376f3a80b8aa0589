//! One seed becomes one whole scenario: the same `Scenario` data the
//! loader produces, so it runs like a file and can be written as one.
//!
//! Shape (see docs/explorer.md): a safety phase of client traffic and
//! overlapping fault episodes, each of which ends (heals) before the phase
//! does; then a liveness phase: every client sends one fresh IAMAT, the
//! herd must converge within a bound, and every server answers a WHATSAT.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use herd::config::HerdConfig;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::clock::EPOCH_SECS;
use crate::scenario::{Action, Network, PlacesExpect, PlacesMode, Scenario, Step};

/// A fault lasts at least this long, so the herd is never faulted faster
/// than it can notice (`dead_after_ms` 1000) and repair.
pub const MIN_STABLE_MS: u64 = 1_500;
/// A restarted server stays up at least this long before it may crash again.
const UP_AFTER_RESTART_MS: u64 = 2_000;
/// Client steps avoid servers that go down this close to the step (a reply
/// cut by a crash is not a herd bug); covers a slow Places answer too.
const CLIENT_WINDOW_MS: u64 = 2_600;
/// How long the herd gets to converge once every fault has healed: a dead
/// link is noticed within `dead_after_ms`, reconnects back off up to
/// `backoff_max_ms`, then catch-up.
pub const LIVENESS_BOUND_MS: u64 = 8_000;

/// Every parameter a seed expanded into, printed before the run.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub seed: u64,
    pub servers: usize,
    pub clients: usize,
    pub safety_ms: u64,
    pub latency_ms: [u64; 2],
    pub iamats: usize,
    pub stale_iamats: usize,
    pub whatsats: usize,
    pub plant_attempts: usize,
    pub faults: Vec<String>,
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut faults = String::new();
        for (i, fault) in self.faults.iter().enumerate() {
            let _ = write!(faults, "{}{fault}", if i == 0 { "" } else { ", " });
        }
        write!(
            f,
            "seed {}: {} servers, {} clients, safety {} ms, latency {}..{} ms, \
             {} IAMATs ({} older or newer than now), {} WHATSATs, {} plant attempts, \
             {} faults [{}], liveness bound {} ms",
            self.seed,
            self.servers,
            self.clients,
            self.safety_ms,
            self.latency_ms[0],
            self.latency_ms[1],
            self.iamats,
            self.stale_iamats,
            self.whatsats,
            self.plant_attempts,
            self.faults.len(),
            faults,
            LIVENESS_BOUND_MS
        )
    }
}

/// Time ranges in which a server is down (crashed or silently dead).
#[derive(Default)]
struct Downtime(Vec<(String, u64, u64)>);

impl Downtime {
    fn down_at(&self, t: u64) -> usize {
        self.0.iter().filter(|(_, a, b)| *a <= t && t < *b).count()
    }

    /// The most servers down at once during `[from, to)`.
    fn most_down(&self, from: u64, to: u64) -> usize {
        let starts = self
            .0
            .iter()
            .map(|(_, a, _)| *a)
            .filter(|a| (from..to).contains(a));
        starts.chain([from]).map(|t| self.down_at(t)).max().unwrap_or(0)
    }

    /// Whether `server` is up throughout `[from, to]`, with a margin
    /// after a restart for it to listen again.
    fn up_during(&self, server: &str, from: u64, to: u64) -> bool {
        !self
            .0
            .iter()
            .any(|(s, a, b)| s == server && *a <= to && from < *b + 100)
    }

    fn may_crash(&self, server: &str, from: u64, to: u64) -> bool {
        !self
            .0
            .iter()
            .any(|(s, a, b)| s == server && *a <= to + UP_AFTER_RESTART_MS && from < *b + UP_AFTER_RESTART_MS)
    }
}

struct Gen<'h> {
    rng: SmallRng,
    herd: &'h HerdConfig,
    names: Vec<String>,
    steps: Vec<Action>,
    params: Params,
}

/// Expands `seed` into a scenario on `herd` (its servers and links), with
/// `herd_table` the inline herd to write out (none for the default herd).
pub fn generate(seed: u64, herd: &HerdConfig) -> (Scenario, Params) {
    let names: Vec<String> = herd.servers.iter().map(|s| s.name.clone()).collect();
    let mut g = Gen {
        rng: SmallRng::seed_from_u64(seed),
        herd,
        names,
        steps: Vec::new(),
        params: Params {
            seed,
            servers: herd.servers.len(),
            ..Params::default()
        },
    };
    let clients = g.rng.random_range(1..=6usize);
    let safety_ms = g.rng.random_range(3_000..=12_000u64);
    let latency_ms = [1, g.rng.random_range(1..=10u64)];
    g.params.clients = clients;
    g.params.safety_ms = safety_ms;
    g.params.latency_ms = latency_ms;

    let downtime = g.faults(safety_ms);
    g.traffic(clients, safety_ms, &downtime);
    g.liveness(clients, safety_ms);

    let mut steps: Vec<(usize, Action)> = g.steps.into_iter().enumerate().collect();
    // Stable: actions at the same time keep the order they were made in.
    steps.sort_by_key(|(i, a)| (a.at_ms(), *i));
    let steps: Vec<Step> = steps
        .into_iter()
        .enumerate()
        .map(|(n, (_, action))| Step {
            at_ms: action.at_ms(),
            action,
            place: format!("seed {seed} step {}", n + 1),
        })
        .collect();
    let last_ms = steps.last().map_or(0, |s| s.at_ms);
    let scenario = Scenario {
        name: format!("seed_{seed}"),
        path: format!("seed_{seed}.toml"),
        description: format!("Explorer seed {seed}: random traffic and faults, heal, converge."),
        seed,
        herd: herd.clone(),
        network: Network {
            latency_ms,
            loss: 0.0,
        },
        steps,
        end_ms: last_ms + 1_000,
        trace_messages: true,
    };
    (scenario, g.params)
}

impl Gen<'_> {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn server(&mut self) -> String {
        let names = self.names.clone();
        self.pick(&names).clone()
    }

    /// A random non-empty proper subset of the servers, and the rest.
    fn split(&mut self) -> (Vec<String>, Vec<String>) {
        let names = self.names.clone();
        loop {
            let (a, b): (Vec<String>, Vec<String>) =
                names.iter().cloned().partition(|_| self.rng.random_bool(0.5));
            if !a.is_empty() && !b.is_empty() {
                return (a, b);
            }
        }
    }

    /// Two different servers; a configured link when `linked`.
    fn pair(&mut self, linked: bool) -> (String, String) {
        if linked && !self.herd.links.is_empty() {
            let links: Vec<(String, String)> = self.herd.links.iter().cloned().collect();
            let (a, b) = self.pick(&links).clone();
            return if self.rng.random_bool(0.5) { (a, b) } else { (b, a) };
        }
        let a = self.server();
        loop {
            let b = self.server();
            if b != a {
                return (a, b);
            }
        }
    }

    /// Overlapping fault episodes, each healed before `safety_ms`.
    fn faults(&mut self, safety_ms: u64) -> Downtime {
        let mut downtime = Downtime::default();
        let max_down = (self.names.len().saturating_sub(1) / 2).max(1);
        let mut t = self.rng.random_range(100..=1_000u64);
        while t + MIN_STABLE_MS <= safety_ms && self.names.len() > 1 {
            let end = (t + self.rng.random_range(MIN_STABLE_MS..=MIN_STABLE_MS * 3)).min(safety_ms);
            let kind = self.rng.random_range(0..11u32);
            let name = self.episode(kind, t, end, &mut downtime, max_down);
            if let Some(name) = name {
                self.params.faults.push(format!("{name} {t}..{end} ms"));
            }
            t += self.rng.random_range(300..=2_000u64);
        }
        downtime
    }

    fn episode(
        &mut self,
        kind: u32,
        t: u64,
        end: u64,
        downtime: &mut Downtime,
        max_down: usize,
    ) -> Option<String> {
        let (at_ms, end_ms) = (t, end);
        let (start, stop, name) = match kind {
            0..=3 => {
                let (a, b, oneway, name) = match kind {
                    0 => {
                        let (a, b) = self.pair(true);
                        (vec![a], vec![b], false, "partition link")
                    }
                    1 => {
                        let s = self.server();
                        let rest = self.names.iter().filter(|n| **n != s).cloned().collect();
                        (vec![s], rest, false, "partition one server off")
                    }
                    2 => {
                        let (a, b) = self.split();
                        (a, b, false, "partition herd in two")
                    }
                    _ => {
                        let (a, b) = if self.rng.random_bool(0.5) {
                            let (a, b) = self.pair(true);
                            (vec![a], vec![b])
                        } else {
                            self.split()
                        };
                        (a, b, true, "one-way partition")
                    }
                };
                let heal = Action::Heal {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    oneway,
                };
                (Action::Partition { at_ms, a, b, oneway }, heal, name)
            }
            4 => {
                let (a, b) = self.pair(true);
                let (a, b) = (vec![a], vec![b]);
                let release = Action::Release {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                };
                (Action::Hold { at_ms, a, b }, release, "hold")
            }
            5 => {
                let (a, b) = self.pair(true);
                let ms = self.rng.random_range(20..=400u64);
                let back = self.rng.random_range(1..=5u64);
                let (a, b) = (vec![a], vec![b]);
                let reset = Action::Latency {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    ms: back,
                };
                (Action::Latency { at_ms, a, b, ms }, reset, "latency")
            }
            6 => {
                let (a, b) = self.pair(true);
                let rate = f64::from(self.rng.random_range(1..=20u32)) / 100.0;
                let (a, b) = (vec![a], vec![b]);
                let reset = Action::Loss {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    rate: 0.0,
                };
                (Action::Loss { at_ms, a, b, rate }, reset, "loss")
            }
            7..=8 => {
                let server = self.server();
                if downtime.most_down(t, end) >= max_down || !downtime.may_crash(&server, t, end) {
                    return None;
                }
                downtime.0.push((server.clone(), t, end));
                let restart = Action::Restart {
                    at_ms: end_ms,
                    server: server.clone(),
                };
                if kind == 7 {
                    (Action::Crash { at_ms, server }, restart, "crash")
                } else {
                    (Action::SilentDeath { at_ms, server }, restart, "silent death")
                }
            }
            _ => {
                let (mode, delay_ms, status, code, name) = match self.rng.random_range(0..4u32) {
                    0 => (PlacesMode::Down, None, None, None, "places down"),
                    1 => (
                        PlacesMode::Slow,
                        Some(self.rng.random_range(100..=2_500u64)),
                        None,
                        None,
                        "places slow",
                    ),
                    2 => {
                        let statuses = [
                            "OVER_QUERY_LIMIT",
                            "REQUEST_DENIED",
                            "UNKNOWN_ERROR",
                            "INVALID_REQUEST",
                        ];
                        let status = self.pick(&statuses).to_string();
                        (
                            PlacesMode::Status,
                            None,
                            Some(status),
                            None,
                            "places error status",
                        )
                    }
                    _ => {
                        let code = *self.pick(&[403u16, 429, 500, 503]);
                        (PlacesMode::Http, None, None, Some(code), "places http error")
                    }
                };
                let ok = Action::Places {
                    at_ms: end_ms,
                    mode: PlacesMode::Ok,
                    delay_ms: None,
                    status: None,
                    code: None,
                };
                let fault = Action::Places {
                    at_ms,
                    mode,
                    delay_ms,
                    status,
                    code,
                };
                (fault, ok, name)
            }
        };
        self.steps.push(start);
        self.steps.push(stop);
        Some(name.to_string())
    }

    /// Client IAMATs (now, older, newer), WHATSATs and attempts to plant a
    /// location with a `HERD AT` line, at servers that are up.
    fn traffic(&mut self, clients: usize, safety_ms: u64, downtime: &Downtime) {
        let count = self.rng.random_range(2..=(4 * safety_ms / 1_000) as usize);
        let mut times: Vec<u64> = (0..count)
            .map(|_| self.rng.random_range(100..safety_ms))
            .collect();
        times.sort_unstable();
        let mut used = BTreeSet::new();
        for t in times {
            let up: Vec<String> = self
                .names
                .iter()
                .filter(|s| downtime.up_during(s, t.saturating_sub(100), t + CLIENT_WINDOW_MS))
                .cloned()
                .collect();
            if up.is_empty() {
                continue;
            }
            let server = self.pick(&up).clone();
            let c = self.rng.random_range(0..clients);
            let roll = self.rng.random_range(0..100u32);
            let action = if roll < 60 || !used.contains(&c) {
                used.insert(c);
                self.iamat(t, c, &server)
            } else if roll < 88 {
                self.whatsat(t, c, &server)
            } else {
                self.plant(t, c, &server)
            };
            self.steps.push(action);
        }
    }

    fn iamat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.iamats += 1;
        let location = self.location();
        let time = match self.rng.random_range(0..10u32) {
            0..=5 => "{now}".to_string(),
            n => {
                self.params.stale_iamats += 1;
                let offset_ns = self.rng.random_range(1..=20_000_000_000i128);
                let now_ns = i128::from(EPOCH_SECS) * 1_000_000_000 + i128::from(t) * 1_000_000;
                let ns = if n < 8 {
                    now_ns - offset_ns
                } else {
                    now_ns + offset_ns
                };
                let digits = *self.pick(&[9usize, 9, 6, 4]);
                time_text(ns, digits)
            }
        };
        let client = client_id(c);
        let send = format!("IAMAT {client} {location} {time}");
        let expect_match = format!(
            r"^AT {} [+-]\d+\.\d{{9}} {} {} {}$",
            regex::escape(server),
            regex::escape(&client),
            regex::escape(&location),
            if time == "{now}" {
                time.clone()
            } else {
                regex::escape(&time)
            }
        );
        client_step(t, c, server, send, None, Some(expect_match), None)
    }

    /// An IAMAT newer than any the safety phase sent (those are at most
    /// 20 s ahead): the update every server must end up with, even if
    /// the only server that held an earlier one crashed (a restarted
    /// server starts empty; the herd promises no durability).
    fn fresh_iamat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.iamats += 1;
        let location = self.location();
        let ns = i128::from(EPOCH_SECS) * 1_000_000_000 + i128::from(t + 30_000) * 1_000_000;
        let time = time_text(ns, 9);
        let client = client_id(c);
        let send = format!("IAMAT {client} {location} {time}");
        let expect_match = format!(
            r"^AT {} [+-]\d+\.\d{{9}} {} {} {}$",
            regex::escape(server),
            regex::escape(&client),
            regex::escape(&location),
            regex::escape(&time)
        );
        client_step(t, c, server, send, None, Some(expect_match), None)
    }

    fn whatsat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.whatsats += 1;
        let radius = if self.rng.random_bool(0.5) {
            self.rng.random_range(1..=50u32).to_string()
        } else {
            let tenths = self.rng.random_range(1..500u32);
            format!("{}.{}", tenths / 10, tenths % 10)
        };
        let bound = self.rng.random_range(1..=20u32);
        let send = format!("WHATSAT {} {radius} {bound}", client_id(c));
        // The server may not have heard of the client yet, and Places may
        // be failing: either a `?` line or an AT line and then JSON.
        let expect_match = format!(r"(?s)^(\? {}|AT .+)$", regex::escape(&send));
        client_step(t, c, server, send, None, Some(expect_match), None)
    }

    fn plant(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.plant_attempts += 1;
        let origin = self.server();
        let location = self.location();
        let ns = i128::from(EPOCH_SECS) * 1_000_000_000 + i128::from(t + 60_000) * 1_000_000;
        let client = if self.rng.random_bool(0.5) {
            client_id(c)
        } else {
            format!("planted{c}.sim")
        };
        let send = format!(
            "HERD AT - {origin} +0.000000000 {client} {location} {}",
            time_text(ns, 9)
        );
        let expect = format!("? {send}");
        client_step(t, c, server, send, Some(expect), None, None)
    }

    /// Heal is done (every episode ended by `safety_ms`); now every client
    /// moves once more, the herd must converge, and every server answers.
    fn liveness(&mut self, clients: usize, safety_ms: u64) {
        let start = safety_ms + 500;
        for c in 0..clients {
            let server = self.server();
            let step = self.fresh_iamat(start + c as u64, c, &server);
            self.steps.push(step);
        }
        let converged = start + clients as u64 + 1;
        self.steps.push(Action::Converged {
            at_ms: converged,
            within_ms: LIVENESS_BOUND_MS,
        });
        for server in self.names.clone() {
            let c = self.rng.random_range(0..clients);
            let bound = self.rng.random_range(1..=20usize);
            let send = format!("WHATSAT {} 10 {bound}", client_id(c));
            let places = PlacesExpect {
                status: Some("OK".into()),
                results: Some(bound),
            };
            self.steps
                .push(client_step(converged, c, &server, send, None, None, Some(places)));
        }
    }

    fn location(&mut self) -> String {
        let lat = f64::from(self.rng.random_range(-90_000_000..=90_000_000i32)) / 1e6;
        let lon = f64::from(self.rng.random_range(-180_000_000..=180_000_000i32)) / 1e6;
        format!("{lat:+.6}{lon:+.6}")
    }
}

fn client_id(c: usize) -> String {
    format!("c{c}.sim")
}

/// POSIX time text with `digits` fractional digits (cut, not rounded).
fn time_text(ns: i128, digits: usize) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = format!("{:09}", ns.rem_euclid(1_000_000_000));
    format!("{secs}.{}", &frac[..digits])
}

#[allow(clippy::too_many_arguments)]
fn client_step(
    at_ms: u64,
    c: usize,
    server: &str,
    send: String,
    expect: Option<String>,
    expect_match: Option<String>,
    expect_places: Option<PlacesExpect>,
) -> Action {
    Action::Client {
        at_ms,
        client: format!("c{c}"),
        server: server.to_string(),
        send,
        raw: false,
        hex: false,
        half_close: true,
        repeat: None,
        expect,
        expect_match,
        expect_places,
        timeout_ms: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::shrink::units;
    use crate::herd_config::sim_herd;

    fn actions(s: &Scenario) -> Vec<Action> {
        s.steps.iter().map(|s| s.action.clone()).collect()
    }

    #[test]
    fn a_seed_is_always_the_same_scenario() {
        let herd = sim_herd(None, None).unwrap();
        for seed in 0..50 {
            assert_eq!(
                actions(&generate(seed, &herd).0),
                actions(&generate(seed, &herd).0)
            );
        }
        assert_ne!(actions(&generate(1, &herd).0), actions(&generate(2, &herd).0));
    }

    #[test]
    fn every_fault_heals_before_the_liveness_phase() {
        let herd = sim_herd(None, None).unwrap();
        for seed in 0..300 {
            let (scenario, params) = generate(seed, &herd);
            let converged = scenario
                .steps
                .iter()
                .find(|s| matches!(s.action, Action::Converged { .. }))
                .expect("a converged step")
                .at_ms;
            let mut down = 0i32;
            let mut most_down = 0;
            for step in &scenario.steps {
                match step.action {
                    Action::Crash { .. } | Action::SilentDeath { .. } => down += 1,
                    Action::Restart { .. } => down -= 1,
                    _ => {}
                }
                most_down = most_down.max(down);
                if !matches!(step.action, Action::Client { .. } | Action::Converged { .. }) {
                    assert!(
                        step.at_ms <= params.safety_ms && step.at_ms < converged,
                        "seed {seed}"
                    );
                }
            }
            assert_eq!(down, 0, "seed {seed}: a server stays down");
            assert!(most_down <= 2, "seed {seed}: {most_down} servers down at once");
            for unit in units(actions(&scenario)) {
                let fault = matches!(
                    unit[0],
                    Action::Partition { .. }
                        | Action::Hold { .. }
                        | Action::Crash { .. }
                        | Action::SilentDeath { .. }
                        | Action::Places { .. }
                        | Action::Latency { .. }
                        | Action::Loss { .. }
                );
                assert!(!fault || unit.len() == 2, "seed {seed}: {:?} never ends", unit[0]);
            }
        }
    }
}
