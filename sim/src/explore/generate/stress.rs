//! What a seed adds besides traffic and faults: a bulk load (a big store,
//! or a flood of new client IDs on one connection), abusive clients (HELLO
//! storms, RESYNC spam, idle hoarders, a squatter on a crashed server's
//! ports), and probes: IAMATs that must be answered within a bound derived
//! from the tuning, sent right after a neighbour fell silent or while the
//! client slots are hoarded.

use herd::config::AckMode;

use super::faults::Downtime;
use super::traffic::iamat_step;
use super::world::UPDATE_BYTES;
use super::{Gen, CLIENT_WINDOW_MS};
use crate::scenario::{Action, Attack};

/// Lines one connection of a bulk load carries when every IAMAT waits
/// for the herd's acknowledgements, and when none does.
const HERD_LINES: u64 = 100;
const LOCAL_LINES: u64 = 25_000;
/// The most clients one bulk load brings.
const MOST_BULK: u64 = 100_000;
/// How long the whole store may take to cross the slowest link drawn. A
/// hundred thousand clients over 50 B/ms is two minutes of simulated
/// catch-up per hop: it finds nothing a smaller store over the same link
/// does not, and costs one seed as much as a hundred others.
const BULK_DUMP_MS: u64 = 5_000;

impl Gen<'_> {
    /// A bulk load, early in the safety phase, at a server up throughout.
    pub(super) fn bulk(&mut self, safety_ms: u64, downtime: &Downtime) {
        if !self.abuse.chance(30) {
            return;
        }
        let t = self.abuse.range(100, safety_ms / 3);
        let up: Vec<String> = self
            .names
            .iter()
            .filter(|s| downtime.up_during(s, t, safety_ms))
            .cloned()
            .collect();
        if up.is_empty() {
            return;
        }
        let server = self.abuse.pick(&up).clone();
        let connections = if self.abuse.chance(30) {
            1
        } else {
            self.abuse.range(2, 16)
        };
        let per_line = match self.herd().tuning.ack {
            AckMode::Herd => HERD_LINES,
            AckMode::Local => LOCAL_LINES,
        };
        let mut most = (connections * per_line).min(MOST_BULK);
        if let Some(rate) = self.swarm.throughput() {
            most = most.min(rate * BULK_DUMP_MS / UPDATE_BYTES).max(100);
        }
        let count = self.abuse.log_range(100, most);
        self.params.bulk += count as usize;
        if self.herd().tuning.ack == AckMode::Herd {
            // Each IAMAT may wait out a silent neighbour, one after another.
            let wait_ms =
                self.herd().tuning.ack_timeout_ms + 4 * self.swarm.diameter * self.swarm.fault_latency_ms;
            self.bulk_ms = count.div_ceil(connections) * wait_ms;
        }
        self.params
            .stress
            .push(format!("bulk {count} over {connections} at {server} {t} ms"));
        self.steps.push(Action::Bulk {
            at_ms: t,
            server,
            count: count as usize,
            prefix: "bulk".into(),
            connections: connections as usize,
        });
    }

    /// One or two abusive clients, and a squatter on some crashed servers.
    pub(super) fn attacks(&mut self, safety_ms: u64, downtime: &Downtime) {
        let crashes: Vec<(String, u64, u64)> = self
            .episodes
            .iter()
            .filter_map(|e| e.crash.clone().map(|s| (s, e.from, e.to)))
            .collect();
        for (server, from, to) in crashes {
            if to > from + 100 && self.abuse.chance(40) {
                self.params
                    .stress
                    .push(format!("squat on {server} {}..{to} ms", from + 20));
                self.steps
                    .push(attack(from + 20, &server, Attack::Squat, 0, 0, None));
            }
        }
        if !self.abuse.chance(40) || safety_ms < 1_000 {
            return;
        }
        for _ in 0..self.abuse.range(1, 2) {
            let t = self.abuse.range(200, safety_ms - 500);
            let for_ms = self.abuse.range(200, 2_000).min(safety_ms - t);
            let up: Vec<String> = self
                .names
                .iter()
                .filter(|s| downtime.up_during(s, t, t + for_ms + CLIENT_WINDOW_MS))
                .cloned()
                .collect();
            if up.is_empty() {
                continue;
            }
            let server = self.abuse.pick(&up).clone();
            let neighbours: Vec<String> = self
                .herd()
                .neighbours(&server)
                .iter()
                .map(|s| s.name.clone())
                .collect();
            let claim = Some(self.abuse.pick(&neighbours).clone());
            let (kind, count) = match self.abuse.below(3) {
                0 => (Attack::HelloStorm, self.abuse.range(4, 40)),
                1 => (Attack::ResyncSpam, self.abuse.range(10, 200)),
                _ => (
                    Attack::Hoard,
                    self.herd().tuning.max_connections as u64 + self.abuse.range(0, 10),
                ),
            };
            self.params
                .stress
                .push(format!("{kind:?} x{count} at {server} {t}..{} ms", t + for_ms));
            self.steps.push(attack(t, &server, kind, count, for_ms, claim));
            if kind == Attack::Hoard {
                let settle = 3 * self.swarm.latency_ms[1] + 20;
                self.probe(t + settle, &server);
            }
        }
    }

    /// A probe right after some of the faults that silence a neighbour.
    pub(super) fn probes(&mut self, downtime: &Downtime) {
        let silences: Vec<(u64, Vec<String>)> = self
            .episodes
            .iter()
            .filter(|e| e.silent && !e.servers.is_empty())
            .map(|e| (e.from, e.servers.clone()))
            .collect();
        for (from, touched) in silences {
            if !self.abuse.chance(50) {
                continue;
            }
            let t = from + self.abuse.range(5, 50);
            let near: Vec<String> = self
                .names
                .iter()
                .filter(|x| downtime.up_during(x, t, t + CLIENT_WINDOW_MS))
                .filter(|x| touched.iter().any(|y| y != *x && self.herd().is_link(x, y)))
                .cloned()
                .collect();
            if !near.is_empty() {
                let server = self.abuse.pick(&near).clone();
                self.probe(t, &server);
            }
        }
    }

    /// An IAMAT at `server` that must be answered within the wait for one
    /// silent neighbour plus a round trip across the herd, at the worst
    /// latency in force; none where perturbed links or a bulk load make
    /// that no bound at all.
    fn probe(&mut self, t: u64, server: &str) {
        if !self.swarm.world.perturb.is_calm() || self.params.bulk > 0 {
            return;
        }
        let tuning = &self.herd().tuning;
        let latency = self
            .slow
            .iter()
            .filter(|(from, to, _)| *from <= t + tuning.ack_timeout_ms + 2_000 && t <= *to)
            .map(|(_, _, ms)| *ms)
            .chain([self.swarm.latency_ms[1]])
            .max()
            .unwrap_or(0);
        let round_trips = 2 * self.swarm.diameter * (latency + 1);
        if round_trips > 1_000 {
            return;
        }
        let within_ms = tuning.ack_timeout_ms + round_trips + 50;
        self.params.probes += 1;
        let client = format!("probe{}.sim", self.params.probes);
        let location = self.location();
        let Action::Client { send, .. } = iamat_step(t, "prober", &client, server, &location, "{now}") else {
            unreachable!("an IAMAT step is a client step");
        };
        self.steps.push(Action::Probe {
            at_ms: t,
            client: "prober".into(),
            server: server.to_string(),
            send,
            within_ms,
        });
    }
}

fn attack(
    at_ms: u64,
    server: &str,
    attack: Attack,
    count: u64,
    for_ms: u64,
    claim: Option<String>,
) -> Action {
    Action::Abuse {
        at_ms,
        server: server.to_string(),
        attack,
        count: count as usize,
        for_ms,
        claim,
    }
}
