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
use std::sync::Arc;

use super::{fields, verbatim, ClientTime, Location, ParseError, Skew, Update};

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
        /// Shared: a flooded update goes out to several neighbours, and is
        /// reported to observers, without a copy.
        update: Arc<Update>,
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

/// The most fields a message other than `ACK` has.
const MAX_FIELDS: usize = 9;

impl PeerMessage {
    /// An update that wants no acknowledgement, with nothing known about who has it.
    pub fn update(update: Update) -> Self {
        Self::Update {
            seq: None,
            update: Arc::new(update),
            seen: Vec::new(),
        }
    }

    pub fn parse(line: &[u8]) -> Result<Self, ParseError> {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
        let bad = |why: &str| ParseError::BadPeerMessage(why.to_string());
        let number = |text: &str, what: &str| text.parse::<u64>().map_err(|_| bad(what));
        let mut words = fields(line);
        if words.next() != Some(PEER_VERB) {
            return Err(bad("not a HERD line"));
        }
        let mut verb = words.clone();
        if verb.next() == Some("ACK") {
            let seqs = verb
                .map(|s| number(s, "ACK sequence number"))
                .collect::<Result<Vec<_>, _>>()?;
            if seqs.is_empty() {
                return Err(bad(line));
            }
            return Ok(Self::Ack { seqs });
        }
        // The rest on the stack: no allocation but what the message keeps.
        let mut f = [""; MAX_FIELDS];
        let mut n = 0;
        for word in words {
            if n == MAX_FIELDS {
                return Err(bad(line));
            }
            f[n] = word;
            n += 1;
        }
        let update = |f: &[&str]| -> Result<Update, ParseError> {
            Ok(Update {
                origin: f[0].to_string(),
                skew: Skew::parse(f[1])?,
                client: f[2].to_string(),
                location: Location::parse(f[3])?,
                time: ClientTime::parse(f[4])?,
            })
        };
        match &f[..n] {
            ["LINKPORT?"] => Ok(Self::LinkPortQuery),
            ["LINKPORT", port] => Ok(Self::LinkPort {
                port: port.parse().map_err(|_| bad("LINKPORT port"))?,
            }),
            ["HELLO", server, nonce] => Ok(Self::Hello {
                server: server.to_string(),
                nonce: hex_field(nonce, NONCE_HEX).ok_or_else(|| bad("HELLO nonce"))?,
            }),
            ["CHALLENGE", server, nonce, mac] => Ok(Self::Challenge {
                server: server.to_string(),
                nonce: hex_field(nonce, NONCE_HEX).ok_or_else(|| bad("CHALLENGE nonce"))?,
                mac: mac_field(mac).ok_or_else(|| bad("CHALLENGE mac"))?,
            }),
            ["PROOF", mac] => Ok(Self::Proof {
                mac: mac_field(mac).ok_or_else(|| bad("PROOF mac"))?,
            }),
            ["AT", seq, rest @ ..] if (5..=6).contains(&rest.len()) => Ok(Self::Update {
                seq: match *seq {
                    "-" => None,
                    n => Some(number(n, "AT sequence number")?),
                },
                update: Arc::new(update(rest)?),
                seen: rest[5..]
                    .iter()
                    .flat_map(|s| s.split(','))
                    .map(str::to_string)
                    .collect(),
            }),
            ["DUMP", rest @ ..] if rest.len() == 5 => Ok(Self::Dump {
                update: update(rest)?,
            }),
            ["SYNCED", count] => Ok(Self::Synced {
                count: number(count, "SYNCED count")?,
            }),
            ["PING"] => Ok(Self::Ping),
            ["RESYNC"] => Ok(Self::Resync),
            _ => Err(bad(line)),
        }
    }

    /// True when the line is meant as an inter-server message (starts with
    /// the `HERD` verb), whether or not it is well formed.
    pub fn is_peer_line(line: &[u8]) -> bool {
        std::str::from_utf8(line).is_ok_and(|l| fields(l).next() == Some(PEER_VERB))
    }

    /// Appends the line (without its ending), each text field through
    /// `text` (`verbatim` on the wire, escaped in a log), without going
    /// through `core::fmt`.
    pub fn write_to(&self, out: &mut Vec<u8>, text: impl Fn(&mut Vec<u8>, &[u8]) + Copy) {
        let number =
            |out: &mut Vec<u8>, n: u64| out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        let mac =
            |out: &mut Vec<u8>, mac: &Option<String>| text(out, mac.as_deref().unwrap_or("-").as_bytes());
        out.extend_from_slice(PEER_VERB.as_bytes());
        match self {
            Self::LinkPortQuery => out.extend_from_slice(b" LINKPORT?"),
            Self::LinkPort { port } => {
                out.extend_from_slice(b" LINKPORT ");
                number(out, u64::from(*port));
            }
            Self::Hello { server, nonce } => {
                out.extend_from_slice(b" HELLO ");
                text(out, server.as_bytes());
                out.push(b' ');
                text(out, nonce.as_bytes());
            }
            Self::Challenge {
                server,
                nonce,
                mac: m,
            } => {
                out.extend_from_slice(b" CHALLENGE ");
                text(out, server.as_bytes());
                out.push(b' ');
                text(out, nonce.as_bytes());
                out.push(b' ');
                mac(out, m);
            }
            Self::Proof { mac: m } => {
                out.extend_from_slice(b" PROOF ");
                mac(out, m);
            }
            Self::Update { seq, update, seen } => {
                out.extend_from_slice(b" AT ");
                match seq {
                    Some(seq) => number(out, *seq),
                    None => out.push(b'-'),
                }
                out.push(b' ');
                update.write_fields(out, text);
                for (i, server) in seen.iter().enumerate() {
                    out.push(if i == 0 { b' ' } else { b',' });
                    text(out, server.as_bytes());
                }
            }
            Self::Dump { update } => {
                out.extend_from_slice(b" DUMP ");
                update.write_fields(out, text);
            }
            Self::Ack { seqs } => {
                out.extend_from_slice(b" ACK");
                for seq in seqs {
                    out.push(b' ');
                    number(out, *seq);
                }
            }
            Self::Synced { count } => {
                out.extend_from_slice(b" SYNCED ");
                number(out, *count);
            }
            Self::Ping => out.extend_from_slice(b" PING"),
            Self::Resync => out.extend_from_slice(b" RESYNC"),
        }
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
        let mut line = Vec::with_capacity(128);
        self.write_to(&mut line, verbatim);
        f.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
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
        round_trip(PeerMessage::Dump {
            update: (*update).clone(),
        });
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
