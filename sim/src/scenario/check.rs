//! What one step may not say even when it parses: names outside the
//! herd, values out of range. Each mistake names its field (and element),
//! so that it is reported at its value.

use super::names::did_you_mean;
use super::placeholders::{is_id, sample};
use super::{Action, PlacesMode};

/// What is wrong, and in which field.
pub(super) struct Bad {
    pub field: &'static str,
    /// The element of a list.
    pub index: Option<usize>,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> Bad {
    Bad {
        field,
        index: None,
        message: message.into(),
    }
}

/// Names a step uses must be servers of the herd; values must make sense.
pub(super) fn check_action(action: &Action, servers: &[&str]) -> Result<(), Bad> {
    let server = |field: &'static str, index: Option<usize>, name: &str| {
        if servers.contains(&name) {
            return Ok(());
        }
        let hint = did_you_mean(name, servers.iter().copied());
        let message = format!(
            "{name:?} is not a server of this herd{hint} (servers: {})",
            servers.join(", ")
        );
        Err(Bad {
            field,
            index,
            message,
        })
    };
    let group = |field: &'static str, names: &[String]| {
        if names.is_empty() {
            return Err(bad(field, "a server group needs at least one name"));
        }
        names
            .iter()
            .enumerate()
            .try_for_each(|(i, n)| server(field, Some(i), n))
    };
    match action {
        Action::Client {
            server: s,
            client,
            expect_match,
            hex,
            raw,
            repeat,
            send,
            read_after_ack,
            crash_after_ack,
            id,
            ..
        } => {
            server("server", None, s)?;
            if *hex {
                decode_hex(send).map_err(|e| bad("send", e))?;
            }
            if client.is_empty() || client.contains(|c: char| c.is_whitespace() || c == ':') {
                return Err(bad(
                    "client",
                    format!("client label {client:?} must be one word without ':'"),
                ));
            }
            if (*read_after_ack || *crash_after_ack) && (*hex || *raw || repeat.is_some() || !one_iamat(send))
            {
                let field = if *read_after_ack {
                    "read_after_ack"
                } else {
                    "crash_after_ack"
                };
                return Err(bad(field, "needs `send` to be one IAMAT line"));
            }
            if let Some(id) = id.as_deref().filter(|id| !is_id(&sample(id))) {
                return Err(bad(
                    "id",
                    format!("{id:?}: an id is one word of letters, digits, _ and -"),
                ));
            }
            if let Some(pattern) = expect_match {
                regex::Regex::new(&sample(pattern)).map_err(|e| bad("expect_match", e.to_string()))?;
            }
            Ok(())
        }
        Action::ManyClients {
            servers: list, count, ..
        } => {
            if *count == 0 {
                return Err(bad("count", "must be at least 1"));
            }
            list.iter()
                .enumerate()
                .try_for_each(|(i, n)| server("servers", Some(i), n))
        }
        Action::Bulk {
            server: s,
            count,
            connections,
            ..
        } => {
            if *count == 0 {
                return Err(bad("count", "must be at least 1"));
            }
            if *connections == 0 {
                return Err(bad("connections", "must be at least 1"));
            }
            server("server", None, s)
        }
        Action::Abuse { server: s, claim, .. } => {
            server("server", None, s)?;
            claim.as_deref().map_or(Ok(()), |c| server("claim", None, c))
        }
        Action::Probe { server: s, send, .. } => {
            if !one_iamat(send) {
                return Err(bad("send", "a probe's `send` must be one IAMAT line"));
            }
            server("server", None, s)
        }
        Action::Reset { a, b, .. } => {
            if a == b {
                return Err(bad("b", "a reset needs two different servers"));
            }
            server("a", None, a).and_then(|_| server("b", None, b))
        }
        Action::Partition { a, b, .. }
        | Action::Heal { a, b, .. }
        | Action::Hold { a, b, .. }
        | Action::Release { a, b, .. }
        | Action::Latency { a, b, .. } => group("a", a).and_then(|_| group("b", b)),
        Action::Loss { a, b, rate, .. } => {
            if !(0.0..=1.0).contains(rate) {
                return Err(bad("rate", "must lie in [0, 1]"));
            }
            group("a", a).and_then(|_| group("b", b))
        }
        Action::Crash { server: s, .. }
        | Action::Restart { server: s, .. }
        | Action::SilentDeath { server: s, .. }
        | Action::Pause { server: s, .. }
        | Action::Resume { server: s, .. }
        | Action::Holds { server: s, .. } => server("server", None, s),
        Action::Converged { .. } => Ok(()),
        Action::Places {
            mode,
            delay_ms,
            status,
            code,
            ..
        } => match mode {
            PlacesMode::Slow if delay_ms.is_none() => Err(bad("mode", "mode \"slow\" needs delay_ms")),
            PlacesMode::Status if status.is_none() => Err(bad("mode", "mode \"status\" needs status")),
            PlacesMode::Http if code.is_none() => Err(bad("mode", "mode \"http\" needs code")),
            _ => Ok(()),
        },
    }
}

/// `IAMAT <client> <location> <time>` on one line.
fn one_iamat(send: &str) -> bool {
    let fields: Vec<&str> = send.split_ascii_whitespace().collect();
    !send.contains('\n') && fields.len() == 4 && fields[0] == "IAMAT"
}

/// `"49 41 ff"` as bytes.
pub fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err("hex send needs an even number of digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("{:?} is not a hex byte", String::from_utf8_lossy(pair)))
        })
        .collect()
}
