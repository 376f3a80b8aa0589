//! Client traffic during the safety phase, at servers that stay up: IAMATs
//! with the time now, older or newer (some read back from every other
//! server right after the ack), some the server must refuse (a time too
//! far ahead, a location a hair out of range, a client ID past its
//! limit), some with IDs only part of a herd in a rollout takes; WHATSATs;
//! attempts to plant a location with a `HERD AT` line; and races: two
//! IAMATs of one client at two servers at once, the older read back.

use std::collections::BTreeSet;

use herd::config::AckMode;

use super::faults::Downtime;
use super::{client_step, time_text, Gen, CLIENT_WINDOW_MS};
use crate::scenario::Action;
use crate::world::clock::EPOCH_SECS;

/// Locations on and just past the edges: (text, in range).
const EDGES: [(&str, bool); 6] = [
    ("+90.000000+180.000000", true),
    ("-90-180", true),
    ("+89.99999999999999999999-179.99999999999999999999", true),
    ("+90.00000000000000000001+0.0", false),
    ("+0.0-180.00000000000000000001", false),
    ("-90.1+10.0", false),
];

pub(super) fn client_id(c: usize) -> String {
    format!("c{c}.sim")
}

fn now_ns(t: u64) -> i128 {
    i128::from(EPOCH_SECS) * 1_000_000_000 + i128::from(t) * 1_000_000
}

impl Gen<'_> {
    /// Client IAMATs, WHATSATs, plant attempts and races at servers that are up.
    pub(super) fn traffic(&mut self, clients: usize, safety_ms: u64, downtime: &Downtime) {
        let count = self.traffic.size(2, (4 * safety_ms / 1_000) as usize);
        let mut times: Vec<u64> = (0..count)
            .map(|_| self.traffic.range(100, safety_ms - 1))
            .collect();
        times.sort_unstable();
        let mut used = BTreeSet::new();
        for t in times {
            let Some(server) = self.up_server(t, downtime) else {
                continue;
            };
            let c = self.traffic.size(0, clients - 1);
            let roll = self.traffic.below(100);
            let action = if roll < 60 || !used.contains(&c) {
                used.insert(c);
                self.iamat(t, c, &server)
            } else if roll < 80 {
                self.whatsat(t, c, &server)
            } else if roll < 90 {
                self.refused_iamat(t, c, &server)
            } else {
                self.plant(t, c, &server)
            };
            self.steps.push(action);
        }
        if self.herd().tuning.ack == AckMode::Herd && self.traffic.chance(30) {
            for _ in 0..self.traffic.range(1, 3) {
                let t = self.traffic.range(100, safety_ms - 1);
                self.race(t, clients, downtime);
            }
        }
    }

    /// A server up from a little before `t` until a reply is surely in.
    pub(super) fn up_server(&mut self, t: u64, downtime: &Downtime) -> Option<String> {
        let up: Vec<String> = self
            .names
            .iter()
            .filter(|s| downtime.up_during(s, t.saturating_sub(100), t + CLIENT_WINDOW_MS))
            .cloned()
            .collect();
        (!up.is_empty()).then(|| self.traffic.pick(&up).clone())
    }

    /// A time text `offset_ms` from the step's time (`{now}` for 0).
    fn time_at(&mut self, t: u64, offset_ms: i64) -> String {
        if offset_ms == 0 {
            return "{now}".to_string();
        }
        let ns = now_ns(t) + i128::from(offset_ms) * 1_000_000 + self.traffic.below(1_000_000) as i128;
        let digits = *self.traffic.pick(&[9usize, 9, 6, 4]);
        time_text(ns, digits)
    }

    fn iamat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.iamats += 1;
        let location = self.location();
        // Newer than now, but never past what the server takes.
        let ahead_ms = self.herd().tuning.max_future_ms.min(20_000) as i64;
        let offset = match self.traffic.below(10) {
            0..=5 => 0,
            6 | 7 => -self.traffic.signed(1, 20_000),
            _ if ahead_ms < 2 => 0,
            _ => self.traffic.signed(1, ahead_ms - 1),
        };
        if offset != 0 {
            self.params.stale_iamats += 1;
        }
        let time = self.time_at(t, offset);
        let mut step = iamat_step(t, &format!("c{c}"), &client_id(c), server, &location, &time);
        let read_back = self.reads.as_mut().is_some_and(|r| r.chance(25));
        if read_back {
            self.params.read_after_ack += 1;
            if let Action::Client { read_after_ack, .. } = &mut step {
                *read_after_ack = true;
            }
        }
        step
    }

    /// An IAMAT the server must refuse, or one only some servers take.
    fn refused_iamat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.edge_iamats += 1;
        let tuning = self.swarm.world.herd_of(self.herd(), server).tuning;
        let label = format!("c{c}");
        let (id, location, time, ok) = match self.traffic.below(4) {
            0 => {
                let ahead = tuning.max_future_ms as i64 + self.traffic.signed(1_000, 1_000_000_000);
                (client_id(c), self.location(), self.time_at(t, ahead), false)
            }
            1 => {
                let (location, ok) = *self.traffic.pick(&EDGES);
                (client_id(c), location.to_string(), "{now}".to_string(), ok)
            }
            // A line that fits, with a client ID that does not.
            2 if tuning.max_client_id_bytes + 120 < tuning.max_line_bytes => {
                let len = tuning.max_client_id_bytes + self.traffic.size(1, 20);
                (
                    format!("c{c}{}", "x".repeat(len)),
                    self.location(),
                    "{now}".to_string(),
                    false,
                )
            }
            _ => match self.swarm.low_line_bytes {
                // Taken here, too long for the rollout's low servers.
                Some(low) if tuning.max_line_bytes > 4_096 => {
                    let id = format!("long{c}.").repeat((2 * low as usize + 300) / 6 + 1);
                    (id, self.location(), "{now}".to_string(), true)
                }
                _ => (client_id(c), self.location(), "{now}".to_string(), true),
            },
        };
        if ok {
            return iamat_step(t, &label, &id, server, &location, &time);
        }
        let send = format!("IAMAT {id} {location} {time}");
        let expect = format!("? {send}");
        client_step(t, &label, server, send, Some(expect), None, None)
    }

    /// One client, two IAMATs at (nearly) once at two servers: the newer
    /// first, then the older, read back from everywhere after its ack.
    fn race(&mut self, t: u64, clients: usize, downtime: &Downtime) {
        let (Some(a), Some(b)) = (self.up_server(t, downtime), self.up_server(t, downtime)) else {
            return;
        };
        self.params.races += 1;
        let id = format!("race{}.sim", self.params.races);
        let label = format!("c{}", self.traffic.size(0, clients - 1));
        let newer = self.time_at(t, 0);
        let lag = self.traffic.range(0, 2 * self.swarm.latency_ms[1]);
        let back_ms = self.traffic.signed(1, 5_000);
        let older = self.time_at(t + lag, -back_ms);
        let first_location = self.location();
        self.steps
            .push(iamat_step(t, &label, &id, &a, &first_location, &newer));
        let second_location = self.location();
        let mut second = iamat_step(t + lag, &label, &id, &b, &second_location, &older);
        if let Action::Client { read_after_ack, .. } = &mut second {
            *read_after_ack = true;
        }
        self.params.read_after_ack += 1;
        self.steps.push(second);
    }

    /// An IAMAT newer than any the safety phase sent (those are at most
    /// 20 s ahead, and never more than the server takes): the update every
    /// server must end up with, even if the only server that held an
    /// earlier one crashed (a restarted server starts empty).
    pub(super) fn fresh_iamat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.iamats += 1;
        let location = self.location();
        let ahead_ms = self.herd().tuning.max_future_ms.min(30_000);
        let time = time_text(now_ns(t + ahead_ms), 9);
        iamat_step(t, &format!("c{c}"), &client_id(c), server, &location, &time)
    }

    fn whatsat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.whatsats += 1;
        let radius = if self.traffic.chance(50) {
            self.traffic.range(1, 50).to_string()
        } else {
            let tenths = self.traffic.range(1, 499);
            format!("{}.{}", tenths / 10, tenths % 10)
        };
        let bound = self.traffic.range(1, 20);
        let send = format!("WHATSAT {} {radius} {bound}", client_id(c));
        // The server may not have heard of the client yet, and Places may
        // be failing: either a `?` line or an AT line and then JSON.
        let expect_match = format!(r"(?s)^(\? {}|AT .+)$", regex::escape(&send));
        client_step(t, &format!("c{c}"), server, send, None, Some(expect_match), None)
    }

    fn plant(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.plant_attempts += 1;
        let origin = self.server();
        let location = self.location();
        let client = if self.traffic.chance(50) {
            client_id(c)
        } else {
            format!("planted{c}.sim")
        };
        let time = time_text(now_ns(t + 60_000), 9);
        let send = format!("HERD AT - {origin} +0.000000000 {client} {location} {time}");
        let expect = format!("? {send}");
        client_step(t, &format!("c{c}"), server, send, Some(expect), None, None)
    }
}

/// `label` sends `IAMAT id location time` (`{now}` for the step's time)
/// and must get the AT line for it.
pub(super) fn iamat_step(t: u64, label: &str, id: &str, server: &str, location: &str, time: &str) -> Action {
    let send = format!("IAMAT {id} {location} {time}");
    let time_pattern = if time == "{now}" {
        time.to_string()
    } else {
        regex::escape(time)
    };
    let expect_match = format!(
        r"^AT {} [+-]\d+\.\d{{9}} {} {} {time_pattern}$",
        regex::escape(server),
        regex::escape(id),
        regex::escape(location),
    );
    client_step(t, label, server, send, None, Some(expect_match), None)
}
