//! What a server must refuse, seen in its replies (SPEC §2 and §6,
//! docs/protocol.md "Limits"): an AT reply to an IAMAT whose client ID is
//! longer than the server's limit, whose time is further ahead of the
//! server's clock than it allows, or whose location is out of range (read
//! exactly, on the decimal text); and no reply may carry the Places API key.

use super::{sent_as, Exchange};
use crate::oracle::harm::Harm;
use crate::oracle::text::{fields, lines, skew_ns};
use crate::oracle::violation::Violation;

/// The limits of the server asked.
#[derive(Debug, Clone, Copy)]
pub struct Refuses {
    pub max_client_id_bytes: usize,
    pub max_future_ms: u64,
}

/// Whether `[+-]DIGITS[.DIGITS]` lies within `[-limit, limit]`, exactly.
fn within(signed: &str, limit: u128) -> bool {
    let unsigned = signed.trim_start_matches(['+', '-']);
    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let whole = whole.trim_start_matches('0');
    match whole.parse::<u128>() {
        _ if whole.is_empty() => true,
        Ok(n) if n < limit => true,
        Ok(n) => n == limit && frac.bytes().all(|b| b == b'0'),
        Err(_) => false,
    }
}

/// Why a location must be refused, if it must.
fn out_of_range(location: &str) -> Option<&'static str> {
    let split = location[1..].find(['+', '-'])? + 1;
    let (lat, lon) = location.split_at(split);
    if !within(lat, 90) {
        return Some("the latitude is out of [-90, 90]");
    }
    (!within(lon, 180)).then_some("the longitude is out of [-180, 180]")
}

/// Every AT reply that echoes an IAMAT sent, naming the server asked.
pub fn check_refused(ex: &Exchange, limits: &Refuses) -> Result<(), Violation> {
    let sent = ex.iamats();
    for line in lines(&ex.reply).map(String::from_utf8_lossy) {
        let f = fields(&line);
        let ["AT", origin, skew, client, location, time] = f.as_slice() else {
            continue;
        };
        if !sent_as(&sent, client, location, time) || *origin != ex.server {
            continue;
        }
        let Some(skew) = skew_ns(skew) else {
            continue;
        };
        // The skew is the server's receive time minus the client's time.
        let ahead_ns = -skew;
        let why = if client.len() > limits.max_client_id_bytes {
            Some(format!(
                "the client ID is longer than the server's {} bytes",
                limits.max_client_id_bytes
            ))
        } else if ahead_ns > i128::from(limits.max_future_ms) * 1_000_000 {
            Some(format!(
                "the client time is more than {} ms ahead of the server's clock",
                limits.max_future_ms
            ))
        } else {
            out_of_range(location).map(str::to_string)
        };
        if let Some(why) = why {
            return Err(Violation::Harm(Harm::Accepted {
                by: ex.by(),
                line: line.to_string(),
                why,
            }));
        }
    }
    Ok(())
}

/// No reply holds the Places API key (one of letters, digits and `-`, so
/// it reads the same percent-encoded).
pub fn check_key(ex: &Exchange, key: &str) -> Result<(), Violation> {
    if String::from_utf8_lossy(&ex.reply).contains(key) {
        return Err(Violation::Harm(Harm::KeyLeaked { by: ex.by() }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_exactly() {
        assert_eq!(out_of_range("+90.000-180.0"), None);
        assert_eq!(out_of_range("-0090+0180"), None);
        assert!(out_of_range("+90.00000000000000000001+0").is_some());
        assert!(out_of_range("+0-180.00000000000000000001").is_some());
        assert!(out_of_range("+123456789012345678901234567890+0").is_some());
    }
}
