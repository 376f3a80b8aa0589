//! The inter-server wire format: one line per message, every line starting
//! with `HERD`, so it can never be mistaken for a client command.
//!
//! - `HERD HELLO <server>`: first line on a link, from the subscriber.
//! - `HERD AT <origin> <skew> <client> <location> <time> [<seen>]`: one
//!   update; `<seen>` (comma-separated server names, only with pruned
//!   flooding) lists servers that have been sent it already.
//! - `HERD SYNCED <count>`: the publisher finished its catch-up dump.
//! - `HERD PING`: heartbeat, both directions, so a silent link is noticed.
//! - `HERD RESYNC`: from the subscriber: send me everything again (pruned
//!   flooding asks this when another of its links died).

use std::fmt;

use super::{fields, ClientTime, Location, ParseError, Skew, Update};

pub const PEER_VERB: &str = "HERD";

#[derive(Debug, Clone, PartialEq)]
pub enum PeerMessage {
    Hello { server: String },
    Update { update: Update, seen: Vec<String> },
    Synced { count: u64 },
    Ping,
    Resync,
}

impl PeerMessage {
    /// An update with nothing known about who has it.
    pub fn update(update: Update) -> Self {
        Self::Update {
            update,
            seen: Vec::new(),
        }
    }

    pub fn parse(line: &[u8]) -> Result<Self, ParseError> {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let f: Vec<&str> = fields(line).collect();
        let bad = |why: &str| ParseError::BadPeerMessage(why.to_string());
        match f.as_slice() {
            [PEER_VERB, "HELLO", server] => Ok(Self::Hello {
                server: server.to_string(),
            }),
            [PEER_VERB, "AT", origin, skew, client, location, time, seen @ ..] if seen.len() <= 1 => {
                Ok(Self::Update {
                    update: Update {
                        origin: origin.to_string(),
                        skew: Skew::parse(skew)?,
                        client: client.to_string(),
                        location: Location::parse(location)?,
                        time: ClientTime::parse(time)?,
                    },
                    seen: seen
                        .iter()
                        .flat_map(|s| s.split(','))
                        .map(str::to_string)
                        .collect(),
                })
            }
            [PEER_VERB, "SYNCED", count] => Ok(Self::Synced {
                count: count.parse().map_err(|_| bad("SYNCED count"))?,
            }),
            [PEER_VERB, "PING"] => Ok(Self::Ping),
            [PEER_VERB, "RESYNC"] => Ok(Self::Resync),
            [PEER_VERB, ..] => Err(bad(line)),
            _ => Err(bad("not a HERD line")),
        }
    }

    /// True when the line is meant as an inter-server message (starts with
    /// the `HERD` verb), whether or not it is well formed.
    pub fn is_peer_line(line: &[u8]) -> bool {
        std::str::from_utf8(line).is_ok_and(|l| fields(l).next() == Some(PEER_VERB))
    }
}

impl fmt::Display for PeerMessage {
    /// The line without its ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hello { server } => write!(f, "{PEER_VERB} HELLO {server}"),
            Self::Update { update, seen } if seen.is_empty() => write!(f, "{PEER_VERB} {update}"),
            Self::Update { update, seen } => write!(f, "{PEER_VERB} {update} {}", seen.join(",")),
            Self::Synced { count } => write!(f, "{PEER_VERB} SYNCED {count}"),
            Self::Ping => write!(f, "{PEER_VERB} PING"),
            Self::Resync => write!(f, "{PEER_VERB} RESYNC"),
        }
    }
}
