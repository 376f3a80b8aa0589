use thiserror::Error;

use super::{fields, ClientTime, Location, Radius, Update};

/// Why a line is not a valid client command. Every variant becomes a
/// `? <line>` reply; the variant itself goes to the log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("empty line")]
    Empty,
    #[error("line is not valid UTF-8")]
    NotUtf8,
    #[error("unknown command {0:?}")]
    UnknownCommand(String),
    #[error("{command} takes {expected} fields, got {got}")]
    FieldCount {
        command: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("bad location {0:?}: want +LAT-LON in decimal degrees")]
    BadLocation(String),
    #[error("latitude out of [-90, 90] in {0:?}")]
    LatitudeOutOfRange(String),
    #[error("longitude out of [-180, 180] in {0:?}")]
    LongitudeOutOfRange(String),
    #[error("bad time {0:?}: want SECONDS[.FRACTION] with 1 to 9 fraction digits")]
    BadTime(String),
    #[error("bad skew {0:?}")]
    BadSkew(String),
    #[error("bad radius {0:?}: want a decimal number of kilometres")]
    BadRadius(String),
    #[error("radius {0:?} out of (0, 50] km")]
    RadiusOutOfRange(String),
    #[error("bad bound {0:?}: want an integer")]
    BadBound(String),
    #[error("bound {0:?} out of [1, 20]")]
    BoundOutOfRange(String),
    #[error("client ID longer than {max} bytes")]
    ClientIdTooLong { max: usize },
    #[error("client time more than {max_ms} ms ahead of the server's clock")]
    TimeTooFarAhead { max_ms: u64 },
    #[error("bad inter-server message: {0}")]
    BadPeerMessage(String),
}

/// A valid client command.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    IAmAt {
        client: String,
        location: Location,
        time: ClientTime,
    },
    WhatsAt {
        client: String,
        radius: Radius,
        bound: u8,
    },
}

const MAX_BOUND: u8 = 20;

/// Parses one client line (without its line ending).
pub fn parse_client_line(line: &[u8]) -> Result<ClientCommand, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::NotUtf8)?;
    let f: Vec<&str> = fields(line).collect();
    let (&verb, args) = f.split_first().ok_or(ParseError::Empty)?;
    let want = |command: &'static str, expected: usize| {
        if args.len() == expected {
            Ok(())
        } else {
            Err(ParseError::FieldCount {
                command,
                expected: expected + 1,
                got: f.len(),
            })
        }
    };
    match verb {
        "IAMAT" => {
            want("IAMAT", 3)?;
            Ok(ClientCommand::IAmAt {
                client: args[0].to_string(),
                location: Location::parse(args[1])?,
                time: ClientTime::parse(args[2])?,
            })
        }
        "WHATSAT" => {
            want("WHATSAT", 3)?;
            Ok(ClientCommand::WhatsAt {
                client: args[0].to_string(),
                radius: Radius::parse(args[1])?,
                bound: parse_bound(args[2])?,
            })
        }
        other => Err(ParseError::UnknownCommand(other.to_string())),
    }
}

fn parse_bound(text: &str) -> Result<u8, ParseError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::BadBound(text.to_string()));
    }
    match text.parse::<u64>() {
        Ok(n @ 1..) if n <= MAX_BOUND as u64 => Ok(n as u8),
        _ => Err(ParseError::BoundOutOfRange(text.to_string())),
    }
}

/// The whole WHATSAT reply: the stored AT line, the Places JSON with every
/// run of newlines squeezed to one and trailing newlines removed, then an
/// empty line.
pub fn whatsat_reply(update: &Update, places_json: &str) -> String {
    let mut body = String::with_capacity(places_json.len());
    for c in places_json.chars() {
        if !(c == '\n' && body.ends_with('\n')) {
            body.push(c);
        }
    }
    let body = body.trim_end_matches('\n');
    format!("{}\n{}\n\n", update.at_line(), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Skew;

    #[test]
    fn parses_the_spec_examples() {
        let c =
            parse_client_line(b"IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1520023934.918963997").unwrap();
        assert!(matches!(c, ClientCommand::IAmAt { ref client, .. } if client == "kiwi.cs.ucla.edu"));
        let c = parse_client_line(b" \tWHATSAT\x0bkiwi.cs.ucla.edu  10 5\x0c\r").unwrap();
        assert!(matches!(c, ClientCommand::WhatsAt { bound: 5, .. }));
    }

    #[test]
    fn names_what_is_wrong() {
        let e = |l: &[u8]| parse_client_line(l).unwrap_err();
        assert_eq!(e(b""), ParseError::Empty);
        assert_eq!(e(b"   "), ParseError::Empty);
        assert_eq!(e(b"IAMAT \xff +1+1 1"), ParseError::NotUtf8);
        assert_eq!(e(b"iamat a +1+1 1"), ParseError::UnknownCommand("iamat".into()));
        assert_eq!(
            e(b"IAMAT a +1+1"),
            ParseError::FieldCount {
                command: "IAMAT",
                expected: 4,
                got: 3
            }
        );
        assert_eq!(
            e(b"WHATSAT a 10 5 6"),
            ParseError::FieldCount {
                command: "WHATSAT",
                expected: 4,
                got: 5
            }
        );
        assert_eq!(e(b"WHATSAT a 10 0"), ParseError::BoundOutOfRange("0".into()));
        assert_eq!(e(b"WHATSAT a 10 21"), ParseError::BoundOutOfRange("21".into()));
        assert_eq!(e(b"WHATSAT a 10 x"), ParseError::BadBound("x".into()));
        assert_eq!(
            e(b"WHATSAT a 50.5 1"),
            ParseError::RadiusOutOfRange("50.5".into())
        );
    }

    #[test]
    fn whatsat_reply_squeezes_newlines_and_ends_with_an_empty_line() {
        let update = Update {
            origin: "Hands".into(),
            skew: Skew(5),
            client: "c".into(),
            location: Location::parse("+1+2").unwrap(),
            time: ClientTime::parse("3").unwrap(),
        };
        let reply = whatsat_reply(&update, "{\n\n\n  \"a\": 1\n}\n\n");
        assert_eq!(reply, "AT Hands +0.000000005 c +1+2 3\n{\n  \"a\": 1\n}\n\n");
    }
}
