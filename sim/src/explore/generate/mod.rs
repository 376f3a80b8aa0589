//! One seed becomes one whole scenario: the same `Scenario` data the
//! loader produces, so it runs like a file and can be written as one.
//!
//! Shape (see docs/explorer.md): a world drawn for the seed (`world.rs`:
//! topology, tuning, secret, rollout, perturbed links); a safety phase of
//! client traffic (`traffic.rs`), overlapping fault episodes (`faults.rs`)
//! each healed before the phase ends, a bulk load, abusive clients and
//! probes (`stress.rs`); then a liveness phase: every client sends one
//! fresh IAMAT, the herd must converge within a bound derived from the
//! drawn tuning and store, and every server answers a WHATSAT.

mod faults;
mod stress;
mod traffic;
pub mod world;

use herd::bugs::Bug;
use herd::config::{AckMode, HerdConfig};
use toml::Table;

use self::traffic::client_id;
use self::world::{Swarm, UPDATE_BYTES};
use super::dice::{Dice, Stream};
use crate::scenario::{Action, Network, PlacesExpect, Scenario, Step};

/// A fault lasts at least this long, so the herd is never faulted faster
/// than it can notice and repair.
pub const MIN_STABLE_MS: u64 = 1_500;
/// Client steps avoid servers that go down this close to the step (a reply
/// cut by a crash is not a herd bug); covers a slow Places answer too.
const CLIENT_WINDOW_MS: u64 = 2_600;

/// Every parameter a seed expanded into, printed before the run.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub seed: u64,
    pub world: String,
    pub clients: usize,
    pub safety_ms: u64,
    pub iamats: usize,
    pub stale_iamats: usize,
    /// IAMATs on an edge: refused, or taken by only part of the herd.
    pub edge_iamats: usize,
    pub whatsats: usize,
    pub plant_attempts: usize,
    /// IAMATs read back from every other server right after the ack.
    pub read_after_ack: usize,
    pub races: usize,
    pub probes: usize,
    /// Clients a bulk load brings.
    pub bulk: usize,
    pub stress: Vec<String>,
    pub faults: Vec<String>,
    pub liveness_ms: u64,
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |items: &[String]| items.join(", ");
        write!(
            f,
            "seed {}: {}; {} clients, safety {} ms, {} IAMATs ({} older or newer than now, {} on an edge, \
             {} read back after the ack, {} races), {} WHATSATs, {} plant attempts, {} probes; \
             stress [{}]; {} faults [{}]; liveness bound {} ms",
            self.seed,
            self.world,
            self.clients,
            self.safety_ms,
            self.iamats,
            self.stale_iamats,
            self.edge_iamats,
            self.read_after_ack,
            self.races,
            self.whatsats,
            self.plant_attempts,
            self.probes,
            list(&self.stress),
            self.faults.len(),
            list(&self.faults),
            self.liveness_ms
        )
    }
}

/// A fault episode as drawn, for what is drawn after it.
pub(super) struct Episode {
    name: &'static str,
    /// The servers a silent fault cut off or killed.
    servers: Vec<String>,
    from: u64,
    to: u64,
    /// Whether it leaves a neighbour silent (no close, no reset).
    silent: bool,
    /// The server it takes down, for a squatter.
    crash: Option<String>,
}

/// What a seed expands into.
pub struct Generated {
    pub scenario: Scenario,
    pub params: Params,
    /// The topology, written as the scenario's `[herd]` (none: default).
    pub herd_table: Option<Table>,
}

pub(super) struct Gen<'s> {
    faults: Dice,
    traffic: Dice,
    abuse: Dice,
    /// Only when the herd acknowledges after flooding (`ack = "herd"`),
    /// the mode that promises a read after the ack sees the update.
    reads: Option<Dice>,
    swarm: &'s Swarm,
    names: Vec<String>,
    steps: Vec<Action>,
    params: Params,
    episodes: Vec<Episode>,
    /// Latency episodes: (from, to, ms).
    slow: Vec<(u64, u64, u64)>,
    /// How long the bulk load may still take after the safety phase.
    bulk_ms: u64,
}

/// Expands `seed`; `fixed` keeps a given herd (topology and tuning), and
/// `bug` draws tuning from the load check's ranges as that bug has them.
pub fn generate(seed: u64, fixed: Option<&(HerdConfig, Option<Table>)>, bug: Option<Bug>) -> Generated {
    let swarm = world::draw(seed, fixed, bug);
    let names: Vec<String> = swarm.herd.servers.iter().map(|s| s.name.clone()).collect();
    let herd_acks = swarm.herd.tuning.ack == AckMode::Herd;
    let mut g = Gen {
        faults: Dice::new(seed, Stream::Faults),
        traffic: Dice::new(seed, Stream::Traffic),
        abuse: Dice::new(seed, Stream::Abuse),
        reads: herd_acks.then(|| Dice::new(seed, Stream::Reads)),
        swarm: &swarm,
        names,
        steps: Vec::new(),
        params: Params {
            seed,
            world: swarm.summary.clone(),
            ..Params::default()
        },
        episodes: Vec::new(),
        slow: Vec::new(),
        bulk_ms: 0,
    };
    let clients = g.traffic.size(1, 6);
    let safety_ms = g.traffic.range(3_000, 12_000);
    g.params.clients = clients;
    g.params.safety_ms = safety_ms;

    let downtime = g.faults(safety_ms);
    g.traffic(clients, safety_ms, &downtime);
    g.bulk(safety_ms, &downtime);
    g.attacks(safety_ms, &downtime);
    g.probes(&downtime);
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
    let mut world = swarm.world.clone();
    // Drawn outside the ranges the server takes (a catalogue bug's): the
    // correct server refuses to start with it.
    if let Err(message) = world.check(&swarm.herd, None) {
        world.refused = Some(message);
    }
    let scenario = Scenario {
        name: format!("seed_{seed}"),
        path: format!("seed_{seed}.toml"),
        description: format!(
            "Explorer seed {seed}: a drawn herd, traffic, abuse and faults, heal, converge."
        ),
        seed,
        herd: swarm.herd.clone(),
        network: Network {
            latency_ms: swarm.latency_ms,
            loss: 0.0,
        },
        steps,
        end_ms: last_ms + 1_000,
        trace_messages: g.params.bulk == 0,
        world,
    };
    Generated {
        scenario,
        params: g.params,
        herd_table: swarm.herd_table.clone(),
    }
}

impl Gen<'_> {
    fn herd(&self) -> &HerdConfig {
        &self.swarm.herd
    }

    fn server(&mut self) -> String {
        self.faults.pick(&self.names).clone()
    }

    /// A random non-empty proper subset of the servers, and the rest.
    fn split(&mut self) -> (Vec<String>, Vec<String>) {
        let names = self.names.clone();
        loop {
            let (a, b): (Vec<String>, Vec<String>) =
                names.iter().cloned().partition(|_| self.faults.chance(50));
            if !a.is_empty() && !b.is_empty() {
                return (a, b);
            }
        }
    }

    /// Two different servers; a configured link when `linked`.
    fn pair(&mut self, linked: bool) -> (String, String) {
        if linked && !self.herd().links.is_empty() {
            let links: Vec<(String, String)> = self.herd().links.iter().cloned().collect();
            let (a, b) = self.faults.pick(&links).clone();
            return if self.faults.chance(50) { (a, b) } else { (b, a) };
        }
        let a = self.server();
        loop {
            let b = self.server();
            if b != a {
                return (a, b);
            }
        }
    }

    /// How long the herd may take to converge once every fault has healed:
    /// a dead link noticed, the longest backoff waited out, a handshake,
    /// a neighbour given up on, a round trip across the herd, and the
    /// whole store streamed over the slowest link at each hop.
    fn liveness_bound(&self) -> u64 {
        let t = &self.herd().tuning;
        let hops = self.swarm.diameter.max(1);
        let store = (self.params.clients + self.params.bulk + self.params.races) as u64;
        let dump_ms = match self.swarm.throughput() {
            Some(rate) => store * UPDATE_BYTES / rate.max(1),
            None => store / 100,
        };
        let latency = 2 * self.swarm.latency_ms[1].max(5);
        t.dead_after_ms
            + t.backoff_max_ms
            + t.handshake_timeout_ms
            + t.ack_timeout_ms
            + hops * (latency + dump_ms)
            + self.bulk_ms
            + 4_000
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
        let within_ms = self.liveness_bound();
        self.params.liveness_ms = within_ms;
        self.steps.push(Action::Converged {
            at_ms: converged,
            within_ms,
            poll: false,
        });
        for server in self.names.clone() {
            let c = self.traffic.size(0, clients - 1);
            let bound = self.traffic.range(1, 20);
            let send = format!("WHATSAT {} 10 {bound}", client_id(c));
            let places = PlacesExpect {
                status: Some("OK".into()),
                results: Some(bound as usize),
            };
            let label = format!("c{c}");
            self.steps.push(client_step(
                converged,
                &label,
                &server,
                send,
                None,
                None,
                Some(places),
            ));
        }
    }

    fn location(&mut self) -> String {
        let lat = self.traffic.signed(-90_000_000, 90_000_000) as f64 / 1e6;
        let lon = self.traffic.signed(-180_000_000, 180_000_000) as f64 / 1e6;
        format!("{lat:+.6}{lon:+.6}")
    }
}

/// POSIX time text with `digits` fractional digits (cut, not rounded).
fn time_text(ns: i128, digits: usize) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = format!("{:09}", ns.rem_euclid(1_000_000_000));
    format!("{secs}.{}", &frac[..digits])
}

fn client_step(
    at_ms: u64,
    label: &str,
    server: &str,
    send: String,
    expect: Option<String>,
    expect_match: Option<String>,
    expect_places: Option<PlacesExpect>,
) -> Action {
    Action::Client {
        at_ms,
        client: label.to_string(),
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
mod tests;
