//! Floods end (SPEC §3, termination): a server forwards an update only
//! when it changed its store, to at most each of its other neighbours, and
//! a catch-up dump holds at most one update per client. So each server
//! incarnation (servers plus restarts) sends at most
//! `iamats x (servers - 1)` flooded updates, and each dump at most
//! `iamats`; more means updates circulate. Counted from the servers' own
//! reports of what they sent, checked on every tick: a forwarding loop
//! multiplies messages fast.

use herd::protocol::PeerMessage;

use super::violation::Violation;
use crate::observe::ServerEvent;

pub struct FloodBound {
    servers: u64,
    /// Valid IAMAT lines sent, repeats included.
    iamats: u64,
    restarts: u64,
    /// Catch-up dumps started: a neighbour subscribed, or asked again.
    dumps: u64,
    /// Updates sent between servers, flooded or in dumps.
    sent: u64,
}

impl FloodBound {
    pub fn new(servers: usize) -> Self {
        Self {
            servers: servers as u64,
            iamats: 0,
            restarts: 0,
            dumps: 0,
            sent: 0,
        }
    }

    pub fn iamat_sent(&mut self) {
        self.iamats += 1;
    }

    pub fn restarted(&mut self) {
        self.restarts += 1;
    }

    pub fn observe(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::PeerSend {
                message: PeerMessage::Update { .. },
                ..
            } => self.sent += 1,
            ServerEvent::FeedUp { .. }
            | ServerEvent::PeerRecv {
                message: PeerMessage::Resync,
                ..
            } => self.dumps += 1,
            _ => {}
        }
    }

    pub fn check(&self) -> Result<(), Violation> {
        let incarnations = self.servers + self.restarts;
        let bound = self.iamats * (self.servers.saturating_sub(1) * incarnations + self.dumps);
        if self.sent > bound {
            return Err(Violation::FloodCost {
                sent: self.sent,
                iamats: self.iamats,
                bound,
                dumps: self.dumps,
                restarts: self.restarts,
            });
        }
        Ok(())
    }
}
