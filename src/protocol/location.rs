use std::fmt;

use super::decimal::Decimal;
use super::ParseError;

/// An ISO 6709 style `+LAT-LON` pair: the text as sent (echoed verbatim)
/// plus the degrees as `f64` for Places. Range checks are exact, on the
/// decimal text.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    text: String,
    lat: f64,
    lon: f64,
}

impl Location {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::BadLocation(text.to_string());
        // The longitude starts at the first sign after the latitude's own.
        let split = text
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '+' || c == '-')
            .map(|(i, _)| i)
            .ok_or_else(bad)?;
        let (lat_text, lon_text) = text.split_at(split);
        let lat = magnitude(lat_text).ok_or_else(bad)?;
        let lon = magnitude(lon_text).ok_or_else(bad)?;
        if lat > Decimal::whole(90) {
            return Err(ParseError::LatitudeOutOfRange(text.to_string()));
        }
        if lon > Decimal::whole(180) {
            return Err(ParseError::LongitudeOutOfRange(text.to_string()));
        }
        let degrees = |part: &str| part.parse::<f64>().map_err(|_| bad());
        Ok(Self {
            text: text.to_string(),
            lat: degrees(lat_text)?,
            lon: degrees(lon_text)?,
        })
    }

    /// A location whose range nobody checked (the bug catalogue's
    /// floating-point check builds one).
    pub(crate) fn unchecked(text: &str, lat: f64, lon: f64) -> Self {
        Self {
            text: text.to_string(),
            lat,
            lon,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn latitude(&self) -> f64 {
        self.lat
    }

    pub fn longitude(&self) -> f64 {
        self.lon
    }
}

/// The size of `[+-]DIGITS[.DIGITS]`, with the sign required.
fn magnitude(text: &str) -> Option<Decimal> {
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
