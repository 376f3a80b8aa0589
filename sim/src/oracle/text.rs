//! The oracle's own reading of protocol text (SPEC §2, docs/protocol.md),
//! kept apart from the server's parsers so that a mistake there cannot
//! hide here. Small on purpose: only what the checks need. Times, skews and
//! radii are exact decimals, so they are read digit by digit into integers
//! (no crate keeps decimal text exact the way these checks need).

/// The protocol's field separators: space, tab, CR, LF, form feed,
/// vertical tab.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// The white-space separated fields of a line.
pub fn fields(line: &str) -> Vec<&str> {
    line.split(is_space).filter(|f| !f.is_empty()).collect()
}

/// The lines of what a client sent or got, without their endings.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// `SECONDS` or `SECONDS.FRACTION` (1 to 9 digits), in nanoseconds.
pub fn time_ns(text: &str) -> Option<i128> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || (text.contains('.') && !(digits(frac) && frac.len() <= 9)) {
        return None;
    }
    let secs: i128 = secs.parse().ok()?;
    let frac_ns: i128 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i128>().ok()? * 10i128.pow(9 - frac.len() as u32)
    };
    Some(secs.checked_mul(1_000_000_000)? + frac_ns)
}

/// A skew as AT lines must write it: one sign, seconds, a point, exactly
/// nine digits. In nanoseconds.
pub fn skew_ns(text: &str) -> Option<i128> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => return None,
    };
    if rest.split_once('.').is_none_or(|(_, frac)| frac.len() != 9) {
        return None;
    }
    let magnitude = time_ns(rest)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// A skew in the AT line's form.
pub fn skew_text(ns: i128) -> String {
    let sign = if ns < 0 { '-' } else { '+' };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

/// Nanoseconds since the epoch as `SECONDS.NANOSECONDS`.
pub fn nanos_text(ns: i128) -> String {
    format!(
        "{}.{:09}",
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000)
    )
}

/// An IAMAT as a client sent it: the fields, uninterpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iamat {
    pub client: String,
    pub location: String,
    pub time: String,
}

/// `IAMAT <client> <location> <time>` with a time the protocol accepts.
pub fn iamat(line: &[u8]) -> Option<Iamat> {
    match fields(std::str::from_utf8(line).ok()?).as_slice() {
        ["IAMAT", client, location, time] if time_ns(time).is_some() => Some(Iamat {
            client: client.to_string(),
            location: location.to_string(),
            time: time.to_string(),
        }),
        _ => None,
    }
}

/// A WHATSAT as a client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whatsat {
    pub client: String,
    pub radius_km: String,
    pub bound: String,
}

pub fn whatsat(line: &[u8]) -> Option<Whatsat> {
    match fields(std::str::from_utf8(line).ok()?).as_slice() {
        ["WHATSAT", client, radius, bound] => Some(Whatsat {
            client: client.to_string(),
            radius_km: radius.to_string(),
            bound: bound.to_string(),
        }),
        _ => None,
    }
}

/// An exact non-negative decimal: `digits` times ten to the `-scale`,
/// with no trailing zeros in `digits` unless it is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `DIGITS` or `DIGITS.DIGITS`.
    pub fn parse(text: &str) -> Option<Self> {
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (text.contains('.') && !digits(frac)) || frac.len() > 30 {
            return None;
        }
        let all: u128 = format!("{whole}{frac}").parse().ok()?;
        Some(Self::normal(all, frac.len() as u32))
    }

    fn normal(mut digits: u128, mut scale: u32) -> Self {
        while scale > 0 && digits % 10 == 0 {
            digits /= 10;
            scale -= 1;
        }
        Self { digits, scale }
    }

    /// Kilometres to metres.
    pub fn times_1000(self) -> Option<Self> {
        Some(Self::normal(self.digits.checked_mul(1000)?, self.scale))
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = format!("{:0>width$}", self.digits, width = self.scale as usize + 1);
        let (whole, frac) = text.split_at(text.len() - self.scale as usize);
        if frac.is_empty() {
            f.write_str(whole)
        } else {
            write!(f, "{whole}.{frac}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_to_the_nanosecond() {
        assert_eq!(time_ns("1.5"), Some(1_500_000_000));
        assert_eq!(time_ns("1520023934.918963997"), Some(1_520_023_934_918_963_997));
        for bad in ["", ".5", "1.", "1.1234567890", "-1", "+1", "1e9", "1.2.3"] {
            assert_eq!(time_ns(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn skews_need_one_sign_and_nine_digits() {
        assert_eq!(skew_ns("+0.263873386"), Some(263_873_386));
        assert_eq!(skew_ns("-99.937523000"), Some(-99_937_523_000));
        for bad in [
            "0.263873386",
            "+0.26387338",
            "--1.000000000",
            "+1",
            "+-1.000000000",
        ] {
            assert_eq!(skew_ns(bad), None, "{bad:?}");
        }
        assert_eq!(skew_text(-1), "-0.000000001");
    }

    #[test]
    fn kilometres_become_metres_exactly() {
        let m = |km: &str| {
            Decimal::parse(km)
                .and_then(Decimal::times_1000)
                .map(|d| d.to_string())
        };
        assert_eq!(m("10").as_deref(), Some("10000"));
        assert_eq!(m("10.5").as_deref(), Some("10500"));
        assert_eq!(m("0.0001").as_deref(), Some("0.1"));
        assert_eq!(m("50.000").as_deref(), Some("50000"));
        assert_eq!(Decimal::parse("10500.0"), Decimal::parse("10500"));
        assert_eq!(Decimal::parse("1e3"), None);
    }

    #[test]
    fn lines_are_read_by_their_fields() {
        let i = iamat(b"IAMAT\tkiwi  +1.0+2.0 7.25 ").unwrap();
        assert_eq!((i.client.as_str(), i.time.as_str()), ("kiwi", "7.25"));
        assert_eq!(iamat(b"IAMAT kiwi +1.0+2.0 soon"), None);
        assert_eq!(whatsat(b"WHATSAT kiwi 10 5").unwrap().radius_km, "10");
    }
}
