//! A run's messages as data: every line sent between hosts, each send
//! paired with its receive, classified by kind, plus the faults and the
//! convergence moments of the timeline. Built from a run's records; the
//! diagram and the statistics both read it.
//!
//! Inter-server messages are paired in `links.rs`, client connections in
//! `clients.rs` (both sides of those are recorded, so their times are
//! exact), faults in `spans.rs`.

mod clients;
mod links;
mod spans;

use std::time::Duration;

use herd::protocol::PeerMessage;

use super::record::{Note, Record, What};

/// What a message is, for colour and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A line from a client (IAMAT, WHATSAT, or anything invalid).
    Client,
    /// A server's answer to a client.
    Reply,
    /// An update flooded because it changed the sender's store.
    Update,
    /// An update of a catch-up dump, or the dump's end.
    CatchUp,
    /// Opening a link: hello, challenge, proof.
    Hello,
    /// `HERD ACK`: flooded updates held downstream.
    Ack,
    /// `HERD PING`.
    Heartbeat,
    /// Any other message between servers.
    Other,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Client,
        Kind::Reply,
        Kind::Update,
        Kind::CatchUp,
        Kind::Hello,
        Kind::Ack,
        Kind::Heartbeat,
        Kind::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Client => "client line",
            Kind::Reply => "reply",
            Kind::Update => "update (HERD AT)",
            Kind::CatchUp => "catch-up dump",
            Kind::Hello => "link handshake",
            Kind::Ack => "acknowledgement (HERD ACK)",
            Kind::Heartbeat => "heartbeat",
            Kind::Other => "other link traffic",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Reply => "reply",
            Kind::Update => "update",
            Kind::CatchUp => "catchup",
            Kind::Hello => "hello",
            Kind::Ack => "ack",
            Kind::Heartbeat => "heartbeat",
            Kind::Other => "other",
        }
    }
}

/// One line on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: Kind,
    /// A server name, or a client's turmoil host name.
    pub from: String,
    pub to: String,
    /// The line, escaped, whole.
    pub text: String,
    /// The message, for lines between servers.
    pub wire: Option<PeerMessage>,
    /// When it left; `None` only for a receive whose send was not seen.
    pub sent: Option<Duration>,
    /// When it arrived; `None` when it was lost.
    pub received: Option<Duration>,
}

/// Something drawn as a shaded span of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// `partition`, `one-way partition`, `hold`, `crash`, `silent death`.
    pub what: &'static str,
    /// The servers it touches: side `a`, then side `b`.
    pub servers: Vec<String>,
    /// Side `b` of a partition or hold (for a one-way partition, the side
    /// that stops hearing); empty for a crash.
    pub far: Vec<String>,
    /// E.g. `Welsh / Holiday,Goloman`, or the server.
    pub label: String,
    pub from: Duration,
    /// `None`: still in force when the run ended.
    pub to: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// Servers in herd order, then client hosts in order of appearance.
    pub servers: Vec<String>,
    pub clients: Vec<String>,
    pub messages: Vec<Message>,
    pub spans: Vec<Span>,
    /// When a `converged` step passed, with its text.
    pub converged: Vec<(Duration, String)>,
    /// When the run failed, and why.
    pub failed: Option<(Duration, String)>,
    /// Time of the last record.
    pub end: Duration,
    /// The median time an inter-server line took, send to receive.
    pub median_delay: Duration,
}

/// Builds the flow of a run from its records; `servers` are the herd's
/// server names in config order.
pub fn build(records: &[Record], servers: &[String]) -> Flow {
    let mut flow = Flow {
        servers: servers.to_vec(),
        end: records.iter().map(|r| r.at).max().unwrap_or_default(),
        ..Flow::default()
    };
    let (messages, median_delay) = links::pair(records, servers);
    flow.messages = messages;
    flow.median_delay = median_delay;
    let (messages, clients) = clients::pair(records, servers);
    flow.messages.extend(messages);
    flow.clients = clients;
    flow.spans = spans::collect(records);
    for r in records {
        match &r.what {
            What::Driver(Note::Converged { after_ms, clients }) => flow
                .converged
                .push((r.at, format!("after {after_ms} ms, {clients} clients"))),
            What::Driver(Note::Fail { place, message }) => {
                flow.failed = Some((r.at, format!("{place}: {message}")))
            }
            _ => {}
        }
    }
    flow.messages.sort_by(|a, b| {
        let key = |m: &Message| m.sent.or(m.received).unwrap_or_default();
        key(a)
            .cmp(&key(b))
            .then(a.from.cmp(&b.from))
            .then(a.to.cmp(&b.to))
    });
    flow
}
