//! What a server does, as typed events, through one seam of its
//! environment (`ServerEnv::observer`). The log file is one observer
//! (src/log/), the simulator's recorder another: nothing downstream has
//! to parse text to learn what happened.
//!
//! Events borrow what they describe, so reporting one costs no allocation;
//! an observer that keeps an event copies what it needs.

use std::fmt;
use std::sync::Arc;

use crate::protocol::{PeerMessage, Update};

/// Numbers the connections of one server incarnation, from 1, in the order
/// they were accepted or opened.
pub type ConnId = u64;

/// Which of a server's two listeners (or which side of a link) an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client port from the herd configuration.
    Client,
    /// The port neighbours open links to.
    Link,
}

/// How much an event matters; heartbeats and store changes are `Debug`,
/// everything else `Info` or above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// Where a stored update came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// An IAMAT on this client connection.
    Client(ConnId),
    /// A neighbour's link.
    Neighbour(&'a str),
}

#[derive(Clone, Copy)]
pub enum Event<'a> {
    /// A listener is up.
    Listening { role: Role, addr: &'a str },
    /// A connection was accepted on `role`'s listener; `peer` is its address.
    Opened { conn: ConnId, role: Role, peer: &'a str },
    /// A connection ended (either side, any reason).
    Closed { conn: ConnId, why: &'a str },
    /// A line from a client, without its line ending, as received.
    ClientLine { conn: ConnId, line: &'a [u8] },
    /// A reply to a client, exactly as written.
    Reply { conn: ConnId, bytes: &'a [u8] },
    /// Why the last line on `conn` was refused (with `? ...` on a client connection).
    Invalid {
        conn: ConnId,
        error: &'a dyn fmt::Display,
    },
    /// An inter-server message read on a link.
    PeerRecv {
        conn: ConnId,
        neighbour: &'a str,
        message: &'a PeerMessage,
    },
    /// An inter-server message written on a link.
    PeerSend {
        conn: ConnId,
        neighbour: &'a str,
        message: &'a PeerMessage,
    },
    /// A line on a link that is not a valid inter-server message.
    PeerInvalid {
        conn: ConnId,
        neighbour: &'a str,
        line: &'a [u8],
        error: &'a dyn fmt::Display,
    },
    /// The store now holds `update` for its client, in place of `replaced`.
    Stored {
        update: &'a Update,
        replaced: Option<&'a Update>,
        source: Source<'a>,
    },
    /// The store was full: the update with the oldest client time was dropped.
    Evicted { update: &'a Update },
    /// Our link to a neighbour (we subscribe to its updates) is up.
    LinkUp {
        conn: ConnId,
        neighbour: &'a str,
        again: bool,
    },
    /// That link ended.
    LinkDown {
        conn: ConnId,
        neighbour: &'a str,
        why: &'a str,
    },
    /// Connecting to a neighbour failed; the next try is after `delay_ms`.
    LinkRetry {
        neighbour: &'a str,
        why: &'a str,
        delay_ms: u64,
    },
    /// A neighbour subscribed to our updates (its link to us is up).
    FeedUp { conn: ConnId, neighbour: &'a str },
    /// That subscription ended.
    FeedDown {
        conn: ConnId,
        neighbour: &'a str,
        why: &'a str,
    },
    /// A connection on the link port did not prove it is a neighbour.
    Refused {
        conn: ConnId,
        claimed: &'a str,
        why: &'a str,
    },
    /// We stopped waiting for `neighbour` to acknowledge `count` updates.
    AckGaveUp { neighbour: &'a str, count: usize },
    /// A Places answer for a WHATSAT.
    Places {
        conn: ConnId,
        status: &'a str,
        radius_m: &'a str,
        bound: u8,
    },
    /// Something an operator should know (printed once, at start).
    Warning { message: &'a str },
    /// The server stopped accepting connections.
    Shutdown,
}

impl Event<'_> {
    /// Heartbeats and store changes are debug; warnings warn; the rest is info.
    pub fn level(&self) -> Level {
        match self {
            Event::PeerRecv { message, .. } | Event::PeerSend { message, .. }
                if matches!(message, PeerMessage::Ping) =>
            {
                Level::Debug
            }
            Event::Stored { .. } => Level::Debug,
            Event::Warning { .. } | Event::Refused { .. } => Level::Warn,
            _ => Level::Info,
        }
    }

    /// The short name of the event's kind, as logs and traces show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Listening { .. } => "listening",
            Event::Opened { .. } => "open",
            Event::Closed { .. } => "close",
            Event::ClientLine { .. } | Event::PeerRecv { .. } => "recv",
            Event::Reply { .. } | Event::PeerSend { .. } => "send",
            Event::Invalid { .. } | Event::PeerInvalid { .. } => "invalid",
            Event::Stored { .. } => "stored",
            Event::Evicted { .. } => "evicted",
            Event::LinkUp { .. } => "link_up",
            Event::LinkDown { .. } => "link_down",
            Event::LinkRetry { .. } => "link_retry",
            Event::FeedUp { .. } => "feed_up",
            Event::FeedDown { .. } => "feed_down",
            Event::Refused { .. } => "refused",
            Event::AckGaveUp { .. } => "ack_gave_up",
            Event::Places { .. } => "places",
            Event::Warning { .. } => "warning",
            Event::Shutdown => "shutdown",
        }
    }
}

/// Receives every event of one server.
pub trait Observer: Send + Sync + 'static {
    /// Whether events of `level` are wanted at all; callers may skip work
    /// for levels nobody reads.
    fn enabled(&self, level: Level) -> bool {
        let _ = level;
        true
    }

    fn event(&self, event: &Event<'_>);
}

pub type SharedObserver = Arc<dyn Observer>;

/// Drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullObserver;

impl Observer for NullObserver {
    fn enabled(&self, _level: Level) -> bool {
        false
    }

    fn event(&self, _event: &Event<'_>) {}
}

/// Reports an event if its level is wanted.
pub(crate) fn report(observer: &dyn Observer, event: Event<'_>) {
    if observer.enabled(event.level()) {
        observer.event(&event);
    }
}
