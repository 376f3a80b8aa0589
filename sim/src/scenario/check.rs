//! What a scenario may not say even when it parses: names outside the
//! herd, values out of range.

use std::collections::BTreeSet;

use super::{Action, PlacesMode};

/// Names a step uses must be servers of the herd; values must make sense.
pub(super) fn check_action(action: &Action, servers: &BTreeSet<&str>) -> Result<(), String> {
    let server = |name: &str| {
        if servers.contains(name) {
            Ok(())
        } else {
            Err(format!("{name:?} is not a server of this herd"))
        }
    };
    let group = |names: &[String]| {
        if names.is_empty() {
            return Err("a server group needs at least one name".to_string());
        }
        names.iter().try_for_each(|n| server(n))
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
            ..
        } => {
            server(s)?;
            if *hex {
                decode_hex(send)?;
            }
            if client.is_empty() || client.contains(|c: char| c.is_whitespace() || c == ':') {
                return Err(format!("client label {client:?} must be one word without ':'"));
            }
            if (*read_after_ack || *crash_after_ack) && (*hex || *raw || repeat.is_some() || !one_iamat(send))
            {
                return Err("read_after_ack and crash_after_ack need `send` to be one IAMAT line".into());
            }
            if let Some(pattern) = expect_match {
                regex::Regex::new(&pattern.replace("{now}", "0"))
                    .map_err(|e| format!("expect_match: {e}"))?;
            }
            Ok(())
        }
        Action::ManyClients {
            servers: list, count, ..
        } => {
            if *count == 0 {
                return Err("count must be at least 1".into());
            }
            list.iter().try_for_each(|n| server(n))
        }
        Action::Partition { a, b, .. }
        | Action::Heal { a, b, .. }
        | Action::Hold { a, b, .. }
        | Action::Release { a, b, .. }
        | Action::Latency { a, b, .. } => group(a).and_then(|_| group(b)),
        Action::Loss { a, b, rate, .. } => {
            if !(0.0..=1.0).contains(rate) {
                return Err("rate must lie in [0, 1]".into());
            }
            group(a).and_then(|_| group(b))
        }
        Action::Crash { server: s, .. }
        | Action::Restart { server: s, .. }
        | Action::SilentDeath { server: s, .. }
        | Action::Pause { server: s, .. }
        | Action::Resume { server: s, .. } => server(s),
        Action::Holds { server: s, .. } => server(s),
        Action::Converged { .. } => Ok(()),
        Action::Places {
            mode,
            delay_ms,
            status,
            code,
            ..
        } => match mode {
            PlacesMode::Slow if delay_ms.is_none() => Err("mode \"slow\" needs delay_ms".into()),
            PlacesMode::Status if status.is_none() => Err("mode \"status\" needs status".into()),
            PlacesMode::Http if code.is_none() => Err("mode \"http\" needs code".into()),
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
