use std::fmt;

use super::ParseError;

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// A client's POSIX time: the text exactly as sent (echoed back verbatim)
/// and its value in integer nanoseconds (used for ordering and skew).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientTime {
    text: String,
    nanos: i128,
}

impl ClientTime {
    /// Accepts `SECONDS` or `SECONDS.FRACTION` with 1 to 9 fraction digits.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::BadTime(text.to_string());
        let (secs, frac) = match text.split_once('.') {
            Some((s, f)) => (s, f),
            None => (text, ""),
        };
        if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if text.contains('.') && (frac.is_empty() || frac.len() > 9) {
            return Err(bad());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let secs: u64 = secs.parse().map_err(|_| bad())?;
        let frac_nanos: i128 = if frac.is_empty() {
            0
        } else {
            let digits: i128 = frac.parse().map_err(|_| bad())?;
            digits * 10i128.pow(9 - frac.len() as u32)
        };
        Ok(Self {
            text: text.to_string(),
            nanos: secs as i128 * NANOS_PER_SEC + frac_nanos,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn nanos(&self) -> i128 {
        self.nanos
    }
}

impl fmt::Display for ClientTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A server's receive time minus the client's time, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skew(pub i128);

impl Skew {
    pub fn between(received_nanos: i128, client: &ClientTime) -> Self {
        Skew(received_nanos - client.nanos())
    }

    /// Parses the form `Display` writes: one sign, seconds, 1 to 9 digits.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::BadSkew(text.to_string());
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'+') => (false, &text[1..]),
            Some(b'-') => (true, &text[1..]),
            _ => return Err(bad()),
        };
        let magnitude = ClientTime::parse(rest).map_err(|_| bad())?.nanos();
        Ok(Skew(if negative { -magnitude } else { magnitude }))
    }
}

impl fmt::Display for Skew {
    /// Always signed, exactly nine fraction digits: `+0.263873386`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let abs = self.0.unsigned_abs();
        let per_sec = NANOS_PER_SEC as u128;
        write!(f, "{sign}{}.{:09}", abs / per_sec, abs % per_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_scale_to_nanoseconds() {
        assert_eq!(ClientTime::parse("1.5").unwrap().nanos(), 1_500_000_000);
        assert_eq!(
            ClientTime::parse("1520023934.918963997").unwrap().nanos(),
            1_520_023_934_918_963_997
        );
        assert_eq!(ClientTime::parse("7").unwrap().nanos(), 7_000_000_000);
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            ".5",
            "1.",
            "1.1234567890",
            "-1",
            "+1",
            "1e9",
            "1.2.3",
            "x",
            "1.-2",
        ] {
            assert!(ClientTime::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn skew_has_one_sign_and_nine_digits() {
        assert_eq!(Skew(263_873_386).to_string(), "+0.263873386");
        assert_eq!(Skew(-99_937_523_000).to_string(), "-99.937523000");
        assert_eq!(Skew(0).to_string(), "+0.000000000");
        assert_eq!(Skew(-1).to_string(), "-0.000000001");
    }
}
