use std::fmt;

use super::ParseError;

/// A WHATSAT radius in kilometres, kept as the decimal text the client sent
/// so the conversion to metres is exact (no floating-point surprises in the
/// legacy API's `radius=` parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Radius {
    int: String,
    frac: String,
}

/// SPEC: greater than 0 and at most 50 km.
const MAX_RADIUS_KM: f64 = 50.0;

impl Radius {
    /// Accepts `DIGITS` or `DIGITS.DIGITS`.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::BadRadius(text.to_string());
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) || (text.contains('.') && frac.is_empty()) {
            return Err(bad());
        }
        let int = int.trim_start_matches('0');
        let radius = Self {
            int: if int.is_empty() { "0".into() } else { int.into() },
            frac: frac.trim_end_matches('0').into(),
        };
        let km = radius.km();
        if km <= 0.0 || km > MAX_RADIUS_KM {
            return Err(ParseError::RadiusOutOfRange(text.to_string()));
        }
        Ok(radius)
    }

    pub fn km(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
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
}
