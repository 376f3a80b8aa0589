//! Every Places request must carry the radius of a WHATSAT some client
//! sent, in metres (SPEC §2: km x 1000; sending kilometres as metres is a
//! classic bug), as the Places stand-in received it. Compared as exact
//! decimals, so `10500` and `10500.0` are the same radius.

use std::collections::BTreeMap;

use super::text::{Decimal, Whatsat};
use super::violation::Violation;

#[derive(Default)]
pub struct Radii {
    /// Radii of the WHATSATs sent, in metres, that no request used yet.
    asked_m: BTreeMap<Decimal, u64>,
}

impl Radii {
    pub fn sent(&mut self, whatsat: &Whatsat) {
        if let Some(m) = Decimal::parse(&whatsat.radius_km).and_then(Decimal::times_1000) {
            *self.asked_m.entry(m).or_default() += 1;
        }
    }

    /// `requested`: the radius of each Places request since the last call.
    pub fn check(&mut self, requested: Vec<String>) -> Result<(), Violation> {
        for radius in requested {
            match Decimal::parse(&radius).and_then(|m| self.asked_m.get_mut(&m)) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    return Err(Violation::PlacesRadius {
                        radius_m: radius,
                        asked_m: self.asked_m.keys().map(Decimal::to_string).collect(),
                    })
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::text::whatsat;

    #[test]
    fn a_request_must_carry_a_whatsat_radius_in_metres() {
        let mut radii = Radii::default();
        radii.sent(&whatsat(b"WHATSAT kiwi 10.5 3").unwrap());
        assert_eq!(radii.check(vec!["10500".into()]), Ok(()));
        // Used up: a second request with that radius came from no WHATSAT.
        assert!(radii.check(vec!["10500".into()]).is_err());
        radii.sent(&whatsat(b"WHATSAT kiwi 10 3").unwrap());
        let err = radii.check(vec!["10".into()]).unwrap_err();
        assert!(matches!(err, Violation::PlacesRadius { ref radius_m, .. } if radius_m == "10"));
    }
}
