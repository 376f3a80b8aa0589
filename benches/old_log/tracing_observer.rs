//! Events as `tracing` events with target `herd` and a `kind` field, the
//! form the simulator's trace reads (the log file has its own observer, src/log/).

use std::collections::HashMap;
use std::sync::Mutex;

use tracing::{debug, info, warn};

use herd::observe::{ConnId, Event, Level, Observer};
use herd::protocol::escape;

const TARGET: &str = "herd";

/// Turns each event into one `tracing` event under the current dispatcher.
#[derive(Default)]
pub struct TracingObserver {
    /// The address (or neighbour name) each open connection is shown as.
    peers: Mutex<HashMap<ConnId, String>>,
}

impl TracingObserver {
    fn peer(&self, conn: ConnId) -> String {
        self.peers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&conn)
            .cloned()
            .unwrap_or_else(|| format!("#{conn}"))
    }

    fn name(&self, conn: ConnId, peer: &str) {
        self.peers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(conn, peer.to_string());
    }
}

/// `"..."` around the escaped bytes; `escape` turns `"` and `\` into
/// `\"` and `\\`, so the quotes are unambiguous.
pub fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", escape(bytes))
}

impl Observer for TracingObserver {
    fn enabled(&self, level: Level) -> bool {
        match level {
            Level::Debug => tracing::enabled!(target: TARGET, tracing::Level::DEBUG),
            _ => true,
        }
    }

    fn event(&self, event: &Event<'_>) {
        let kind = event.kind();
        match *event {
            Event::Listening { addr, .. } => info!(target: TARGET, kind, addr),
            Event::Opened { conn, peer, .. } => {
                self.name(conn, peer);
                info!(target: TARGET, kind = "client_open", peer);
            }
            Event::Closed { conn, why } => {
                let peer = self.peer(conn);
                self.peers.lock().unwrap_or_else(|p| p.into_inner()).remove(&conn);
                info!(target: TARGET, kind = "client_close", peer, why);
            }
            Event::ClientLine { conn, line } => {
                info!(target: TARGET, kind, peer = self.peer(conn), line = %quoted(line))
            }
            Event::Reply { conn, bytes } => {
                info!(target: TARGET, kind, peer = self.peer(conn), line = %quoted(bytes))
            }
            Event::Invalid { conn, error } => info!(
                target: TARGET, kind, peer = self.peer(conn),
                error = %quoted(error.to_string().as_bytes())
            ),
            Event::PeerRecv {
                neighbour, message, ..
            }
            | Event::PeerSend {
                neighbour, message, ..
            } => {
                let line = quoted(message.to_string().as_bytes());
                if event.level() == Level::Debug {
                    debug!(target: TARGET, kind, peer = neighbour, line = %line);
                } else {
                    info!(target: TARGET, kind, peer = neighbour, line = %line);
                }
            }
            Event::PeerInvalid {
                neighbour,
                line,
                error,
                ..
            } => {
                info!(target: TARGET, kind = "recv", peer = neighbour, line = %quoted(line));
                info!(
                    target: TARGET, kind, peer = neighbour,
                    error = %quoted(error.to_string().as_bytes())
                );
            }
            // Store changes were never part of the log; they stay out of it.
            Event::Stored { .. } => {}
            Event::Evicted { update } => {
                info!(target: TARGET, kind, line = %quoted(update.to_string().as_bytes()))
            }
            Event::LinkUp { neighbour, again, .. } => info!(target: TARGET, kind, peer = neighbour, again),
            Event::LinkDown { neighbour, why, .. } => info!(target: TARGET, kind, peer = neighbour, why),
            Event::LinkRetry {
                neighbour,
                why,
                delay_ms,
            } => info!(target: TARGET, kind, peer = neighbour, why, delay_ms),
            Event::FeedUp { conn, neighbour } => {
                self.name(conn, neighbour);
                info!(target: TARGET, kind, peer = neighbour)
            }
            Event::FeedDown { neighbour, why, .. } => info!(target: TARGET, kind, peer = neighbour, why),
            Event::Refused { conn, claimed, why } => {
                warn!(target: TARGET, kind, peer = self.peer(conn), claimed = %quoted(claimed.as_bytes()), why)
            }
            Event::AckGaveUp { neighbour, count } => info!(target: TARGET, kind, peer = neighbour, count),
            Event::Places {
                status,
                radius_m,
                bound,
                ..
            } => {
                info!(target: TARGET, kind, status = %escape(status.as_bytes()), radius_m, bound)
            }
            Event::Warning { message } => warn!(target: TARGET, kind, message),
            Event::Shutdown => info!(target: TARGET, kind),
        }
    }
}
