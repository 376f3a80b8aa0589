use std::cmp::Ordering;
use std::fmt;

use super::ParseError;

/// Digits allowed on each side of the point: far past any useful
/// precision, and a bound on what one field can cost to compare.
const MAX_DIGITS: usize = 20;

/// An unsigned decimal seen as its digits, so range checks are exact
/// (`f64` would call `90.00000000000000000001` ninety). No crate keeps
/// arbitrary decimal text exact at this size for free; comparing digit
/// strings is all the checks need. It borrows the text: checking a
/// location allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    /// No leading zeros; `"0"` for zero.
    int: &'a str,
    /// No trailing zeros; empty for a whole number.
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    /// `DIGITS` or `DIGITS.DIGITS`, each part 1 to 20 digits.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (text, None),
        };
        let digits = |s: &str| (1..=MAX_DIGITS).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || !frac.is_none_or(digits) {
            return None;
        }
        let int = int.trim_start_matches('0');
        Some(Self {
            int: if int.is_empty() { "0" } else { int },
            frac: frac.unwrap_or("").trim_end_matches('0'),
        })
    }

    /// A whole number, written without leading zeros.
    pub(crate) const fn whole(digits: &'a str) -> Self {
        Self {
            int: digits,
            frac: "",
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.int == "0" && self.frac.is_empty()
    }
}

impl Ord for Decimal<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Without leading zeros a longer integer part is a larger one; without
        // trailing zeros fractions compare as text.
        (self.int.len(), self.int, self.frac).cmp(&(other.int.len(), other.int, other.frac))
    }
}

impl PartialOrd for Decimal<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A WHATSAT radius in kilometres, kept as the decimal the client sent
/// (normalised) so the range check and the conversion to metres are exact
/// (no floating-point surprises in the legacy API's `radius=` parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Radius {
    int: String,
    frac: String,
}

/// SPEC: greater than 0 and at most 50 km.
const MAX_RADIUS_KM: Decimal<'static> = Decimal::whole("50");

impl Radius {
    /// Accepts `DIGITS` or `DIGITS.DIGITS`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let km = Decimal::parse(text).ok_or_else(|| ParseError::BadRadius(text.to_string()))?;
        if km.is_zero() || km > MAX_RADIUS_KM {
            return Err(ParseError::RadiusOutOfRange(text.to_string()));
        }
        Ok(Self {
            int: km.int.to_string(),
            frac: km.frac.to_string(),
        })
    }

    /// The radius in metres, as exact decimal text: `10.5` km is `10500`.
    pub fn metres_text(&self) -> String {
        let frac = format!("{:0<3}", self.frac);
        let (whole, rest) = frac.split_at(3);
        let int = format!("{}{}", self.int, whole);
        let int = int.trim_start_matches('0');
        let int = if int.is_empty() { "0" } else { int };
        if rest.is_empty() {
            int.to_string()
        } else {
            format!("{int}.{rest}")
        }
    }

    /// The radius in metres for a request body; never for a verdict.
    pub fn metres(&self) -> f64 {
        self.metres_text().parse().unwrap_or(0.0)
    }
}

impl fmt::Display for Radius {
    /// The value in kilometres, normalised (`010.50` shows as `10.5`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.frac.is_empty() {
            f.write_str(&self.int)
        } else {
            write!(f, "{}.{}", self.int, self.frac)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kilometres_become_exact_metres() {
        let m = |s: &str| Radius::parse(s).unwrap().metres_text();
        assert_eq!(m("10"), "10000");
        assert_eq!(m("10.5"), "10500");
        assert_eq!(m("0.1"), "100");
        assert_eq!(m("1.23456"), "1234.56");
        assert_eq!(m("0.0001"), "0.1");
        assert_eq!(m("050.000"), "50000");
    }

    #[test]
    fn rejects_bad_and_out_of_range() {
        for bad in ["", ".5", "5.", "-1", "+1", "1e1", "ten", "1.2.3"] {
            assert!(
                matches!(Radius::parse(bad), Err(ParseError::BadRadius(_))),
                "{bad:?}"
            );
        }
        for out in ["0", "0.0", "50.0001", "51", "99999999999999999999"] {
            assert!(
                matches!(Radius::parse(out), Err(ParseError::RadiusOutOfRange(_))),
                "{out:?}"
            );
        }
    }

    /// A last nonzero digit far past `f64` precision still counts.
    #[test]
    fn range_checks_are_exact_in_decimal() {
        for out in [
            "50.00000000000000000001",
            "00000000000000000051",
            "0.00000000000000000000",
        ] {
            assert!(
                matches!(Radius::parse(out), Err(ParseError::RadiusOutOfRange(_))),
                "{out:?}"
            );
        }
        for ok in [
            "50.00000000000000000000",
            "0.00000000000000000001",
            "00000000000000000050",
        ] {
            assert!(Radius::parse(ok).is_ok(), "{ok:?}");
        }
    }
}
