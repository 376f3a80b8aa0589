//! The inter-server wire format: one line per message, every line starting
//! with `HERD`, so it can never be mistaken for a client command.
//!
//! On a server's client port (the only inter-server line a client port answers):
//! - `HERD LINKPORT?` -> `HERD LINKPORT <port>`: where this server takes links.
//!
//! On the link port, from the subscriber (the side that connected):
//! - `HERD HELLO <server> <nonce>`: who it is, and a fresh challenge.
//! - `HERD PROOF <mac>`: its answer to the publisher's challenge.
//! - `HERD ACK <seq>...`: these flooded updates are held here and by
//!   everyone reachable beyond (see docs/protocol.md, "Acknowledgements").
//! - `HERD PING`, `HERD RESYNC`.
//!
//! From the publisher:
//! - `HERD CHALLENGE <server> <nonce> <mac>`: who it is, its proof, its challenge.
//! - `HERD AT <seq> <origin> <skew> <client> <location> <time> [<seen>]`: one
//!   flooded update. `<seq>` numbers it for acknowledgement, `-` means none
//!   is wanted (`ack = "local"`). `<seen>` (comma-separated server names,
//!   only with pruned flooding) lists servers that have been sent it already.
//! - `HERD DUMP <origin> <skew> <client> <location> <time>`: one update of a
//!   catch-up dump (everything the publisher holds, at a link's start or on
//!   `RESYNC`), never acknowledged, interleaved with flooded updates.
//! - `HERD SYNCED <count>`: the end of a catch-up dump.
//! - `HERD PING`: heartbeat, both directions, so a silent link is noticed.
//!
//! `<nonce>` is 32 hex digits; `<mac>` is 64 hex digits, or `-` when the herd
//! has no secret.

use std::fmt;

use super::{fields, ClientTime, Location, ParseError, Skew, Update};

pub const PEER_VERB: &str = "HERD";

/// Hex digits in a nonce and in a MAC (16 and 32 bytes).
pub const NONCE_HEX: usize = 32;
pub const MAC_HEX: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum PeerMessage {
    LinkPortQuery,
    LinkPort {
        port: u16,
    },
    Hello {
        server: String,
        nonce: String,
    },
    Challenge {
        server: String,
        nonce: String,
        mac: Option<String>,
    },
    Proof {
        mac: Option<String>,
    },
    Update {
        seq: Option<u64>,
        update: Update,
        seen: Vec<String>,
    },
    Dump {
        update: Update,
    },
    Ack {
        seqs: Vec<u64>,
    },
    Synced {
        count: u64,
    },
    Ping,
    Resync,
}

impl PeerMessage {
    /// An update that wants no acknowledgement, with nothing known about who has it.
    pub fn update(update: Update) -> Self {
        Self::Update {
            seq: None,
            update,
            seen: Vec::new(),
        }
    }

    pub fn parse(line: &[u8]) -> Result<Self, ParseError> {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let f: Vec<&str> = fields(line).collect();
        let bad = |why: &str| ParseError::BadPeerMessage(why.to_string());
        let number = |text: &str, what: &str| text.parse::<u64>().map_err(|_| bad(what));
        match f.as_slice() {
            [PEER_VERB, "LINKPORT?"] => Ok(Self::LinkPortQuery),
            [PEER_VERB, "LINKPORT", port] => Ok(Self::LinkPort {
                port: port.parse().map_err(|_| bad("LINKPORT port"))?,
            }),
            [PEER_VERB, "HELLO", server, nonce] => Ok(Self::Hello {
                server: server.to_string(),
                nonce: hex_field(nonce, NONCE_HEX).ok_or_else(|| bad("HELLO nonce"))?,
            }),
            [PEER_VERB, "CHALLENGE", server, nonce, mac] => Ok(Self::Challenge {
                server: server.to_string(),
                nonce: hex_field(nonce, NONCE_HEX).ok_or_else(|| bad("CHALLENGE nonce"))?,
                mac: mac_field(mac).ok_or_else(|| bad("CHALLENGE mac"))?,
            }),
            [PEER_VERB, "PROOF", mac] => Ok(Self::Proof {
                mac: mac_field(mac).ok_or_else(|| bad("PROOF mac"))?,
            }),
            [PEER_VERB, "AT", seq, origin, skew, client, location, time, seen @ ..] if seen.len() <= 1 => {
                Ok(Self::Update {
                    seq: match *seq {
                        "-" => None,
                        n => Some(number(n, "AT sequence number")?),
                    },
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
            [PEER_VERB, "DUMP", origin, skew, client, location, time] => Ok(Self::Dump {
                update: Update {
                    origin: origin.to_string(),
                    skew: Skew::parse(skew)?,
                    client: client.to_string(),
                    location: Location::parse(location)?,
                    time: ClientTime::parse(time)?,
                },
            }),
            [PEER_VERB, "ACK", seqs @ ..] if !seqs.is_empty() => Ok(Self::Ack {
                seqs: seqs
                    .iter()
                    .map(|s| number(s, "ACK sequence number"))
                    .collect::<Result<_, _>>()?,
            }),
            [PEER_VERB, "SYNCED", count] => Ok(Self::Synced {
                count: number(count, "SYNCED count")?,
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

/// Lower-case hex of exactly `len` digits.
fn hex_field(text: &str, len: usize) -> Option<String> {
    (text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| text.to_string())
}

/// A MAC, or `-` for none.
fn mac_field(text: &str) -> Option<Option<String>> {
    if text == "-" {
        Some(None)
    } else {
        hex_field(text, MAC_HEX).map(Some)
    }
}

impl fmt::Display for PeerMessage {
    /// The line without its ending.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mac = |m: &Option<String>| m.clone().unwrap_or_else(|| "-".to_string());
        match self {
            Self::LinkPortQuery => write!(f, "{PEER_VERB} LINKPORT?"),
            Self::LinkPort { port } => write!(f, "{PEER_VERB} LINKPORT {port}"),
            Self::Hello { server, nonce } => write!(f, "{PEER_VERB} HELLO {server} {nonce}"),
            Self::Challenge {
                server,
                nonce,
                mac: m,
            } => {
                write!(f, "{PEER_VERB} CHALLENGE {server} {nonce} {}", mac(m))
            }
            Self::Proof { mac: m } => write!(f, "{PEER_VERB} PROOF {}", mac(m)),
            Self::Update { seq, update, seen } => {
                write!(f, "{PEER_VERB} AT ")?;
                match seq {
                    Some(n) => write!(f, "{n}")?,
                    None => f.write_str("-")?,
                }
                // `update` displays as `AT <origin> ...`; skip its verb.
                let text = update.to_string();
                f.write_str(&text[2..])?;
                if !seen.is_empty() {
                    write!(f, " {}", seen.join(","))?;
                }
                Ok(())
            }
            // `update` displays as `AT <origin> ...`; skip its verb.
            Self::Dump { update } => write!(f, "{PEER_VERB} DUMP{}", &update.to_string()[2..]),
            Self::Ack { seqs } => {
                f.write_str("HERD ACK")?;
                for seq in seqs {
                    write!(f, " {seq}")?;
                }
                Ok(())
            }
            Self::Synced { count } => write!(f, "{PEER_VERB} SYNCED {count}"),
            Self::Ping => write!(f, "{PEER_VERB} PING"),
            Self::Resync => write!(f, "{PEER_VERB} RESYNC"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(message: PeerMessage) {
        let line = message.to_string();
        assert_eq!(PeerMessage::parse(line.as_bytes()), Ok(message), "{line}");
    }

    #[test]
    fn every_message_parses_back() {
        let nonce = "0123456789abcdef0123456789abcdef".to_string();
        let mac = Some("ab".repeat(32));
        round_trip(PeerMessage::LinkPortQuery);
        round_trip(PeerMessage::LinkPort { port: 40_001 });
        round_trip(PeerMessage::Hello {
            server: "Hands".into(),
            nonce: nonce.clone(),
        });
        round_trip(PeerMessage::Challenge {
            server: "Goloman".into(),
            nonce,
            mac: mac.clone(),
        });
        round_trip(PeerMessage::Proof { mac });
        round_trip(PeerMessage::Proof { mac: None });
        round_trip(PeerMessage::Ack { seqs: vec![1, 7, 9] });
        let update = match PeerMessage::parse(b"HERD AT - Hands +0.000000005 c +1+2 3") {
            Ok(PeerMessage::Update { update, .. }) => update,
            other => panic!("{other:?}"),
        };
        round_trip(PeerMessage::Dump { update });
        round_trip(PeerMessage::Synced { count: 3 });
        round_trip(PeerMessage::Ping);
        round_trip(PeerMessage::Resync);
    }

    #[test]
    fn an_update_line_keeps_its_sequence_number_and_seen_list() {
        let line = "HERD AT 12 Hands +0.000000005 c +1+2 3 Goloman,Hands";
        let Ok(PeerMessage::Update { seq, update, seen }) = PeerMessage::parse(line.as_bytes()) else {
            panic!("{line} does not parse");
        };
        assert_eq!(seq, Some(12));
        assert_eq!(update.to_string(), "AT Hands +0.000000005 c +1+2 3");
        assert_eq!(seen, ["Goloman", "Hands"]);
        let no_ack = "HERD AT - Hands +0.000000005 c +1+2 3";
        assert!(matches!(
            PeerMessage::parse(no_ack.as_bytes()),
            Ok(PeerMessage::Update { seq: None, .. })
        ));
    }

    #[test]
    fn malformed_handshakes_are_refused() {
        for bad in [
            "HERD HELLO Hands",
            "HERD HELLO Hands xyz",
            "HERD HELLO Hands 0123456789ABCDEF0123456789ABCDEF",
            "HERD PROOF 12",
            "HERD CHALLENGE Hands 0123456789abcdef0123456789abcdef",
            "HERD ACK",
            "HERD ACK x",
            "HERD LINKPORT 70000",
        ] {
            assert!(PeerMessage::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
