//! One seed becomes one whole scenario: the same `Scenario` data the
//! loader produces, so it runs like a file and can be written as one.
//!
//! Shape (see docs/explorer.md): a safety phase of client traffic and
//! overlapping fault episodes, each of which ends (heals) before the phase
//! does; then a liveness phase: every client sends one fresh IAMAT, the
//! herd must converge within a bound, and every server answers a WHATSAT.
//! The faults are drawn in `faults.rs`, the client traffic in `traffic.rs`.

mod faults;
mod traffic;

use std::fmt::Write as _;

use herd::config::{AckMode, HerdConfig};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::scenario::{Action, Network, PlacesExpect, Scenario, Step};

/// A fault lasts at least this long, so the herd is never faulted faster
/// than it can notice (`dead_after_ms` 1000) and repair.
pub const MIN_STABLE_MS: u64 = 1_500;
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
    /// IAMATs read back from every other server right after the ack.
    pub read_after_ack: usize,
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
             {} IAMATs ({} older or newer than now, {} read back after the ack), {} WHATSATs, \
             {} plant attempts, {} faults [{}], liveness bound {} ms",
            self.seed,
            self.servers,
            self.clients,
            self.safety_ms,
            self.latency_ms[0],
            self.latency_ms[1],
            self.iamats,
            self.stale_iamats,
            self.read_after_ack,
            self.whatsats,
            self.plant_attempts,
            self.faults.len(),
            faults,
            LIVENESS_BOUND_MS
        )
    }
}

/// Which IAMATs are read back after their ack comes from a stream of its
/// own, so that the rest of what a seed expands into does not depend on it.
const READS_STREAM: u64 = 0x5245_4144_5321;

struct Gen<'h> {
    rng: SmallRng,
    /// Only when the herd acknowledges after flooding (`ack = "herd"`),
    /// the mode that promises a read after the ack sees the update.
    reads: Option<SmallRng>,
    herd: &'h HerdConfig,
    names: Vec<String>,
    steps: Vec<Action>,
    params: Params,
}

/// Expands `seed` into a scenario on `herd` (its servers and links).
pub fn generate(seed: u64, herd: &HerdConfig) -> (Scenario, Params) {
    let names: Vec<String> = herd.servers.iter().map(|s| s.name.clone()).collect();
    let mut g = Gen {
        rng: SmallRng::seed_from_u64(seed),
        reads: (herd.tuning.ack == AckMode::Herd).then(|| SmallRng::seed_from_u64(seed ^ READS_STREAM)),
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
            poll: false,
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
        read_after_ack: false,
        crash_after_ack: false,
        id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::shrink::units;
    use crate::world::herd_config::sim_herd;

    fn actions(s: &Scenario) -> Vec<Action> {
        s.steps.iter().map(|s| s.action.clone()).collect()
    }

    #[test]
    fn a_generated_scenario_reads_back_as_the_same_scenario() {
        let herd = sim_herd(None, None).unwrap();
        for seed in 0..20 {
            let (scenario, _) = generate(seed, &herd);
            let text = crate::scenario::write::to_toml(&scenario, None, &["a comment".into()]).unwrap();
            let back = crate::scenario::parse(&text, "x.toml", "x").unwrap();
            assert_eq!(back.herd, scenario.herd);
            assert_eq!(back.network, scenario.network);
            assert_eq!(back.end_ms, scenario.end_ms);
            assert_eq!(back.seed, scenario.seed);
            assert_eq!(actions(&back), actions(&scenario), "seed {seed}");
        }
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
