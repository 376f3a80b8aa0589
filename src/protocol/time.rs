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
        let nanos = nanos_of(text).ok_or_else(|| ParseError::BadTime(text.to_string()))?;
        Ok(Self {
            text: text.to_string(),
            nanos,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value of a time's text, without keeping a copy of the text: for
    /// text that parsed before, such as a stored update's.
    pub fn nanos_of(text: &str) -> Option<i128> {
        nanos_of(text)
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
        let magnitude = nanos_of(rest).ok_or_else(bad)?;
        Ok(Skew(if negative { -magnitude } else { magnitude }))
    }

    /// Appends what `Display` writes, without going through `core::fmt`.
    pub fn write_to(self, out: &mut Vec<u8>) {
        out.push(if self.0 < 0 { b'-' } else { b'+' });
        let abs = self.0.unsigned_abs();
        let per_sec = NANOS_PER_SEC as u128;
        out.extend_from_slice(itoa::Buffer::new().format(abs / per_sec).as_bytes());
        out.push(b'.');
        let mut frac = (abs % per_sec) as u32;
        let mut digits = [b'0'; 9];
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        out.extend_from_slice(&digits);
    }
}

/// `SECONDS` or `SECONDS.FRACTION` (1 to 9 digits) in nanoseconds, in one
/// pass: no sign, no exponent, seconds up to `u64::MAX`.
fn nanos_of(text: &str) -> Option<i128> {
    let mut bytes = text.bytes();
    let mut whole: u64 = 0;
    let mut whole_digits = 0;
    let mut point = false;
    for b in bytes.by_ref() {
        match b {
            b'0'..=b'9' => {
                whole = whole.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                whole_digits += 1;
            }
            b'.' => {
                point = true;
                break;
            }
            _ => return None,
        }
    }
    let mut frac: u32 = 0;
    let mut frac_digits = 0;
    for b in bytes {
        if !b.is_ascii_digit() || frac_digits == 9 {
            return None;
        }
        frac = frac * 10 + u32::from(b - b'0');
        frac_digits += 1;
    }
    if whole_digits == 0 || (point && frac_digits == 0) {
        return None;
    }
    let scale = 10u32.pow(9 - frac_digits);
    Some(i128::from(whole) * NANOS_PER_SEC + i128::from(frac * scale))
}

impl fmt::Display for Skew {
    /// Always signed, exactly nine fraction digits: `+0.263873386`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Vec::with_capacity(48);
        self.write_to(&mut text);
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
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
        assert_eq!(
            ClientTime::parse("18446744073709551615.000000001")
                .unwrap()
                .nanos(),
            i128::from(u64::MAX) * 1_000_000_000 + 1
        );
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
            "18446744073709551616",
            "1. 5",
        ] {
            assert!(ClientTime::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn skew_has_one_sign_and_nine_digits() {
        let max = i128::from(u64::MAX) * 1_000_000_000 + 999_999_999;
        assert_eq!(Skew(-max).to_string(), "-18446744073709551615.999999999");
        assert_eq!(Skew(263_873_386).to_string(), "+0.263873386");
        assert_eq!(Skew(-99_937_523_000).to_string(), "-99.937523000");
        assert_eq!(Skew(0).to_string(), "+0.000000000");
        assert_eq!(Skew(-1).to_string(), "-0.000000001");
    }
}
