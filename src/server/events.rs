//! Every event a server reports, in one place. They are `tracing` events
//! with target `herd` and a `kind` field; the log file (src/log.rs) prints
//! them, and the simulator turns them into its trace. Client-supplied text
//! is always escaped (see `protocol::escape`) and quoted, so it can neither
//! split a log line nor pass for another field.
//!
//! | kind           | fields               | meaning                                    |
//! |----------------|----------------------|--------------------------------------------|
//! | `listening`    | `addr`               | the server accepts connections             |
//! | `client_open`  | `peer`               | a connection was accepted                  |
//! | `client_close` | `peer`, `why`        | a connection ended                         |
//! | `recv`         | `peer`, `line`       | a line from a client or a neighbour        |
//! | `send`         | `peer`, `line`       | a reply or message, as written             |
//! | `invalid`      | `peer`, `error`      | why the last line got a `?`                |
//! | `link_up`      | `peer`, `again`      | our link to a neighbour is (re)established |
//! | `link_down`    | `peer`, `why`        | our link to a neighbour was lost           |
//! | `link_retry`   | `peer`, `why`, `delay_ms` | a connect failed; next try after delay |
//! | `feed_up`      | `peer`               | a neighbour subscribed to our updates      |
//! | `feed_down`    | `peer`, `why`        | that subscription ended                    |
//! | `places`       | `status`, `radius_m`, `bound` | a Places answer                   |
//! | `shutdown`     |                      | the server stopped accepting               |
//!
//! Heartbeats (`HERD PING`) are `recv`/`send` at DEBUG level, the rest INFO.

use tracing::{debug, info};

use crate::protocol::{escape, PeerMessage};

pub const TARGET: &str = "herd";

pub fn listening(addr: &str) {
    info!(target: TARGET, kind = "listening", addr);
}

pub fn client_open(peer: &str) {
    info!(target: TARGET, kind = "client_open", peer);
}

pub fn client_close(peer: &str, why: &str) {
    info!(target: TARGET, kind = "client_close", peer, why);
}

pub fn recv(peer: &str, line: &[u8]) {
    info!(target: TARGET, kind = "recv", peer, line = %quoted(line));
}

pub fn send(peer: &str, text: &[u8]) {
    info!(target: TARGET, kind = "send", peer, line = %quoted(text));
}

/// `"..."` around the escaped bytes; `escape` turns `"` and `\` into
/// `\"` and `\\`, so the quotes are unambiguous.
pub fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", escape(bytes))
}

/// An inter-server message; heartbeats only at DEBUG so they can be
/// filtered without losing anything else.
pub fn peer_message(received: bool, peer: &str, message: &PeerMessage) {
    let kind = if received { "recv" } else { "send" };
    let line = message.to_string();
    let line = quoted(line.as_bytes());
    if matches!(message, PeerMessage::Ping) {
        debug!(target: TARGET, kind, peer, line = %line);
    } else {
        info!(target: TARGET, kind, peer, line = %line);
    }
}

pub fn invalid(peer: &str, error: &dyn std::fmt::Display) {
    info!(target: TARGET, kind = "invalid", peer, error = %quoted(error.to_string().as_bytes()));
}

pub fn link_up(peer: &str, again: bool) {
    info!(target: TARGET, kind = "link_up", peer, again);
}

pub fn link_down(peer: &str, why: &str) {
    info!(target: TARGET, kind = "link_down", peer, why);
}

pub fn link_retry(peer: &str, why: &str, delay_ms: u64) {
    info!(target: TARGET, kind = "link_retry", peer, why, delay_ms);
}

pub fn feed_up(peer: &str) {
    info!(target: TARGET, kind = "feed_up", peer);
}

pub fn feed_down(peer: &str, why: &str) {
    info!(target: TARGET, kind = "feed_down", peer, why);
}

pub fn places(status: &str, radius_m: &str, bound: u8) {
    info!(target: TARGET, kind = "places", status = %escape(status.as_bytes()), radius_m, bound);
}

pub fn shutdown() {
    info!(target: TARGET, kind = "shutdown");
}
