use std::fmt;

use super::ParseError;

/// An ISO 6709 style `+LAT-LON` pair: the text as sent (echoed verbatim)
/// plus the parsed degrees (for Places and range checks).
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
        let lat = parse_degrees(lat_text).ok_or_else(bad)?;
        let lon = parse_degrees(lon_text).ok_or_else(bad)?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ParseError::LatitudeOutOfRange(text.to_string()));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ParseError::LongitudeOutOfRange(text.to_string()));
        }
        Ok(Self {
            text: text.to_string(),
            lat,
            lon,
        })
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

/// `[+-]DIGITS[.DIGITS]`, with the sign required.
fn parse_degrees(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-'])?;
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    text.parse().ok()
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
}
