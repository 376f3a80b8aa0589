//! Floods end (SPEC §3, termination): a server forwards an update only
//! when it changed its store (or, at its origin, when a client sent it),
//! to at most each of its neighbours, and a server incarnation changes its
//! store at most once per update (again only after evicting it from a full
//! store). So the `HERD AT` lines sent are at most `iamats x` the sum of
//! every incarnation's neighbours, plus a server's neighbours for each of
//! its evictions; more means updates circulate. Catch-up dumps are `HERD DUMP` lines and bounded apart
//! (`dumps.rs`). Counted from the servers' own reports of what they sent,
//! checked on every tick: a forwarding loop multiplies messages fast.

use std::collections::BTreeMap;

use herd::config::HerdConfig;
use herd::protocol::PeerMessage;

use super::violation::Violation;
use crate::observe::ServerEvent;

pub struct FloodBound {
    /// Each server's number of neighbours.
    degree: BTreeMap<String, u64>,
    /// The neighbours of every incarnation so far, summed.
    fan_out: u64,
    /// Valid IAMAT lines sent, repeats included.
    iamats: u64,
    restarts: u64,
    /// What evictions allow on top: the evicting server's neighbours each.
    evicted: u64,
    /// `HERD AT` lines sent between servers.
    sent: u64,
}

impl FloodBound {
    pub fn new(herd: &HerdConfig) -> Self {
        let degree: BTreeMap<String, u64> = herd
            .servers
            .iter()
            .map(|s| (s.name.clone(), herd.neighbours(&s.name).len() as u64))
            .collect();
        Self {
            fan_out: degree.values().sum(),
            degree,
            iamats: 0,
            restarts: 0,
            evicted: 0,
            sent: 0,
        }
    }

    pub fn iamat_sent(&mut self) {
        self.iamats += 1;
    }

    pub fn restarted(&mut self, server: &str) {
        self.restarts += 1;
        self.fan_out += self.degree.get(server).copied().unwrap_or(0);
    }

    pub fn observe(&mut self, server: &str, event: &ServerEvent) {
        match event {
            ServerEvent::PeerSend {
                message: PeerMessage::Update { .. },
                ..
            } => self.sent += 1,
            ServerEvent::Evicted { .. } => self.evicted += self.degree.get(server).copied().unwrap_or(0),
            _ => {}
        }
    }

    pub fn check(&self) -> Result<(), Violation> {
        let bound = self.iamats * self.fan_out + self.evicted;
        if self.sent > bound {
            return Err(Violation::FloodCost {
                sent: self.sent,
                iamats: self.iamats,
                bound,
                restarts: self.restarts,
            });
        }
        Ok(())
    }
}
