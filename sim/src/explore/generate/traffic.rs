//! Client traffic during the safety phase, at servers that stay up: IAMATs
//! with the time now, older or newer (some read back from every other
//! server right after the ack), WHATSATs, and attempts to plant a location
//! with a `HERD AT` line.

use std::collections::BTreeSet;

use rand::Rng;

use super::faults::Downtime;
use super::{client_id, client_step, time_text, Gen, CLIENT_WINDOW_MS};
use crate::scenario::Action;
use crate::world::clock::EPOCH_SECS;

impl Gen<'_> {
    /// Client IAMATs (now, older, newer), WHATSATs and attempts to plant a
    /// location with a `HERD AT` line, at servers that are up.
    pub(super) fn traffic(&mut self, clients: usize, safety_ms: u64, downtime: &Downtime) {
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
        let mut step = iamat_step(t, c, server, &location, &time);
        if self.reads.as_mut().is_some_and(|r| r.random_ratio(1, 4)) {
            self.params.read_after_ack += 1;
            if let Action::Client { read_after_ack, .. } = &mut step {
                *read_after_ack = true;
            }
        }
        step
    }

    /// An IAMAT newer than any the safety phase sent (those are at most
    /// 20 s ahead): the update every server must end up with, even if
    /// the only server that held an earlier one crashed (a restarted
    /// server starts empty; the herd promises no durability).
    pub(super) fn fresh_iamat(&mut self, t: u64, c: usize, server: &str) -> Action {
        self.params.iamats += 1;
        let location = self.location();
        let ns = i128::from(EPOCH_SECS) * 1_000_000_000 + i128::from(t + 30_000) * 1_000_000;
        iamat_step(t, c, server, &location, &time_text(ns, 9))
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
}

/// Client `c` sends `IAMAT` with `location` and `time` (`{now}` for the
/// step's time) and must get the AT line for it.
fn iamat_step(t: u64, c: usize, server: &str, location: &str, time: &str) -> Action {
    let client = client_id(c);
    let send = format!("IAMAT {client} {location} {time}");
    let time_pattern = if time == "{now}" {
        time.to_string()
    } else {
        regex::escape(time)
    };
    let expect_match = format!(
        r"^AT {} [+-]\d+\.\d{{9}} {} {} {time_pattern}$",
        regex::escape(server),
        regex::escape(&client),
        regex::escape(location),
    );
    client_step(t, c, server, send, None, Some(expect_match), None)
}
