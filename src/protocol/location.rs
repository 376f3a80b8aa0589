use std::fmt;

use super::decimal::Decimal;
use super::ParseError;

/// An ISO 6709 style `+LAT-LON` pair, kept as the text as sent (echoed
/// verbatim). Range checks are exact, on the decimal text; the degrees as
/// `f64` are only worked out for Places, so carrying a location around
/// costs one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    text: String,
    /// Where the longitude's sign is.
    split: usize,
}

const MAX_LATITUDE: Decimal<'static> = Decimal::whole("90");
const MAX_LONGITUDE: Decimal<'static> = Decimal::whole("180");

impl Location {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::BadLocation(text.to_string());
        // The longitude starts at the first sign after the latitude's own.
        let split = text
            .bytes()
            .skip(1)
            .position(|b| b == b'+' || b == b'-')
            .map(|i| i + 1)
            .ok_or_else(bad)?;
        let (lat_text, lon_text) = text.split_at(split);
        let lat = magnitude(lat_text).ok_or_else(bad)?;
        let lon = magnitude(lon_text).ok_or_else(bad)?;
        if lat > MAX_LATITUDE {
            return Err(ParseError::LatitudeOutOfRange(text.to_string()));
        }
        if lon > MAX_LONGITUDE {
            return Err(ParseError::LongitudeOutOfRange(text.to_string()));
        }
        Ok(Self {
            text: text.to_string(),
            split,
        })
    }

    /// A location whose range nobody checked (the bug catalogue's
    /// floating-point check builds one).
    pub(crate) fn unchecked(text: &str, split: usize) -> Self {
        Self {
            text: text.to_string(),
            split,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn latitude(&self) -> f64 {
        degrees(&self.text[..self.split])
    }

    pub fn longitude(&self) -> f64 {
        degrees(&self.text[self.split..])
    }
}

/// A checked `[+-]DIGITS[.DIGITS]` always parses as `f64`.
fn degrees(part: &str) -> f64 {
    part.parse().unwrap_or(f64::NAN)
}

/// The size of `[+-]DIGITS[.DIGITS]`, with the sign required.
fn magnitude(text: &str) -> Option<Decimal<'_>> {
    Decimal::parse(text.strip_prefix(['+', '-'])?)
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_signed_pairs() {
        let l = Location::parse("+34.068930-118.445127").unwrap();
        assert_eq!((l.latitude(), l.longitude()), (34.068930, -118.445127));
        assert_eq!(l.as_str(), "+34.068930-118.445127");
        let l = Location::parse("-90+180").unwrap();
        assert_eq!((l.latitude(), l.longitude()), (-90.0, 180.0));
    }

    #[test]
    fn rejects_bad_and_out_of_range() {
        for bad in [
            "34.0-118.0",
            "+34.0",
            "+34.0-",
            "+34.-118",
            "+34.0--118",
            "+3a.0-1.0",
            "+34.0-118.0x",
            "",
            "+",
        ] {
            assert!(
                matches!(Location::parse(bad), Err(ParseError::BadLocation(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Location::parse("+90.0000001+0"),
            Err(ParseError::LatitudeOutOfRange(_))
        ));
        assert!(matches!(
            Location::parse("+0-180.5"),
            Err(ParseError::LongitudeOutOfRange(_))
        ));
    }

    /// A last nonzero digit far past `f64` precision still counts.
    #[test]
    fn range_checks_are_exact_in_decimal() {
        let tiny = "00000000000000000001";
        for lat in [format!("+90.{tiny}"), format!("-90.{tiny}"), "+100".into()] {
            let text = format!("{lat}+0");
            assert!(
                matches!(Location::parse(&text), Err(ParseError::LatitudeOutOfRange(_))),
                "{text}"
            );
        }
        for lon in [format!("+180.{tiny}"), format!("-180.{tiny}"), "+1000".into()] {
            let text = format!("+0{lon}");
            assert!(
                matches!(Location::parse(&text), Err(ParseError::LongitudeOutOfRange(_))),
                "{text}"
            );
        }
        for ok in [
            "+90.00000000000000000000-180.00000000000000000000",
            "-090+0180",
            "+89.99999999999999999999+179.99999999999999999999",
            "-00000000000000000090.0+00000000000000000180.0",
        ] {
            assert!(Location::parse(ok).is_ok(), "{ok}");
        }
    }
}
