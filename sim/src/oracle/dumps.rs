//! Catch-up dumps are bounded (docs/protocol.md, "Pruned flooding" and
//! "Catch-up"): a feed sends one dump when its neighbour subscribes, and
//! one more per `HERD RESYNC` only under pruned flooding, coalesced: while
//! a dump is under way, any number of requests cause at most one more. So
//! each feed may finish (`HERD SYNCED`) at most as many dumps as it was
//! allowed, which a `RESYNC` raises to at most two (the one under way and
//! one more). Counted from the servers' reports, per feed connection.

use std::collections::BTreeMap;

use herd::config::Flooding;
use herd::protocol::PeerMessage;

use super::harm::Harm;
use super::violation::Violation;
use crate::observe::record::ConnId;
use crate::observe::ServerEvent;

/// Dumps a feed may still finish: the one under way and one more.
const MOST_OWED: u64 = 2;

#[derive(Default)]
struct Feed {
    neighbour: String,
    owed: u64,
    finished: u64,
}

pub struct DumpBound {
    pruned: bool,
    /// By (server, incarnation, connection).
    feeds: BTreeMap<(String, u32, ConnId), Feed>,
}

impl DumpBound {
    pub fn new(flooding: Flooding) -> Self {
        Self {
            pruned: flooding == Flooding::Pruned,
            feeds: BTreeMap::new(),
        }
    }

    pub fn observe(&mut self, server: &str, incarnation: u32, event: &ServerEvent) -> Result<(), Violation> {
        let key = |conn: &ConnId| (server.to_string(), incarnation, *conn);
        match event {
            ServerEvent::FeedUp { conn, neighbour } => {
                let feed = Feed {
                    neighbour: neighbour.clone(),
                    owed: 1,
                    finished: 0,
                };
                self.feeds.insert(key(conn), feed);
            }
            ServerEvent::PeerRecv {
                conn,
                message: PeerMessage::Resync,
                ..
            } if self.pruned => {
                if let Some(feed) = self.feeds.get_mut(&key(conn)) {
                    feed.owed = (feed.owed + 1).min(MOST_OWED);
                }
            }
            ServerEvent::PeerSend {
                conn,
                message: PeerMessage::Synced { .. },
                ..
            } => {
                let Some(feed) = self.feeds.get_mut(&key(conn)) else {
                    return Ok(());
                };
                feed.finished += 1;
                if feed.owed == 0 {
                    return Err(Violation::Harm(Harm::UnaskedDump {
                        server: server.to_string(),
                        neighbour: feed.neighbour.clone(),
                        count: feed.finished,
                    }));
                }
                feed.owed -= 1;
            }
            ServerEvent::FeedDown { conn, .. } => {
                self.feeds.remove(&key(conn));
            }
            _ => {}
        }
        Ok(())
    }
}
