//! The offline back end: plausible legacy-shaped answers computed from the
//! request alone, so a herd runs with no network and no key, and the same
//! WHATSAT always gets the same answer (on every machine and Rust release:
//! the hash and generator are fully specified algorithms, FNV-1a and
//! SplitMix64, not std's or `rand`'s defaults, and coordinates are rounded
//! well above any last-bit difference between platforms' trigonometry).

use std::hash::Hasher;

use fnv::FnvHasher;
use rand::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use serde_json::{json, Value};

use super::{NearbyRequest, Places, PlacesFuture};

/// At most this many places around any point; Google's page size.
const MAX_PLACES: u64 = 20;

/// Mean Earth radius (IUGG), the sphere the points are placed on.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Points land within this share of the radius, so rounding the printed
/// coordinates can never push one outside it.
const RADIUS_USE: f64 = 0.9;

#[derive(Debug, Clone, Copy, Default)]
pub struct FakePlaces;

impl Places for FakePlaces {
    fn nearby<'a>(&'a self, request: &'a NearbyRequest) -> PlacesFuture<'a> {
        Box::pin(std::future::ready(answer(request)))
    }
}

/// The whole answer. The places depend on location and radius only; the
/// bound cuts the list, so a larger bound shows more of the same places,
/// as Google does.
pub fn answer(request: &NearbyRequest) -> Value {
    let seed_text = format!(
        "{},{},{}",
        request.latitude,
        request.longitude,
        request.radius.metres_text()
    );
    let mut rng = Draws::from_text(&seed_text);
    let count = rng.below(MAX_PLACES + 1).min(u64::from(request.bound));
    let results: Vec<Value> = (0..count).map(|_| place(&mut rng, request)).collect();
    let status = if results.is_empty() { "ZERO_RESULTS" } else { "OK" };
    json!({"html_attributions": [], "results": results, "status": status})
}

/// Kinds of place, each with the legacy `types` it carries and a word for
/// its name.
const KINDS: [(&str, &[&str]); 10] = [
    ("Cafe", &["cafe", "food", "point_of_interest", "establishment"]),
    ("Bar", &["bar", "point_of_interest", "establishment"]),
    (
        "Restaurant",
        &["restaurant", "food", "point_of_interest", "establishment"],
    ),
    (
        "Bakery",
        &["bakery", "store", "food", "point_of_interest", "establishment"],
    ),
    ("Hotel", &["lodging", "point_of_interest", "establishment"]),
    (
        "Park",
        &["park", "tourist_attraction", "point_of_interest", "establishment"],
    ),
    (
        "Museum",
        &[
            "museum",
            "tourist_attraction",
            "point_of_interest",
            "establishment",
        ],
    ),
    (
        "Books",
        &["book_store", "store", "point_of_interest", "establishment"],
    ),
    ("Gym", &["gym", "health", "point_of_interest", "establishment"]),
    (
        "Pharmacy",
        &[
            "pharmacy",
            "health",
            "store",
            "point_of_interest",
            "establishment",
        ],
    ),
];
const NAME_WORDS: [&str; 16] = [
    "Harbour",
    "Corner",
    "Golden",
    "Olive",
    "Blue",
    "Old Mill",
    "Sunset",
    "Maple",
    "Riverside",
    "Union",
    "Copper",
    "Lantern",
    "Garden",
    "Northside",
    "Juniper",
    "Station",
];
const STREETS: [&str; 12] = [
    "Market",
    "George",
    "King",
    "Pitt",
    "Elizabeth",
    "Church",
    "Bridge",
    "Park",
    "Hill",
    "Mill",
    "Queen",
    "Victoria",
];
const STREET_KINDS: [&str; 5] = ["Street", "Road", "Avenue", "Lane", "Place"];
const SUBURBS: [&str; 8] = [
    "The Rocks",
    "Westwood",
    "Millers Point",
    "Old Town",
    "Riverside",
    "Harbourside",
    "Northgate",
    "Southbank",
];

fn place(rng: &mut Draws, request: &NearbyRequest) -> Value {
    let (lat, lng) = point_within(rng, request);
    let (kind, types) = KINDS[rng.pick(KINDS.len())];
    let name = format!("{} {kind}", NAME_WORDS[rng.pick(NAME_WORDS.len())]);
    let vicinity = format!(
        "{} {} {}, {}",
        1 + rng.below(200),
        STREETS[rng.pick(STREETS.len())],
        STREET_KINDS[rng.pick(STREET_KINDS.len())],
        SUBURBS[rng.pick(SUBURBS.len())],
    );
    // Ratings in tenths, 2.5 to 5.0, where real ones mostly lie; most
    // places have a few hundred of them.
    let rating = (25 + rng.below(26)) as f64 / 10.0;
    let user_ratings_total = 1 + rng.below(50) * rng.below(60);
    let business_status = if rng.below(15) == 0 {
        "CLOSED_TEMPORARILY"
    } else {
        "OPERATIONAL"
    };
    json!({
        "business_status": business_status,
        "geometry": {"location": {"lat": lat, "lng": lng}},
        "name": name,
        "place_id": place_id(rng),
        "rating": rating,
        "types": types,
        "user_ratings_total": user_ratings_total,
        "vicinity": vicinity,
    })
}

/// A point uniformly spread over the disc of the search, placed with the
/// great-circle destination formula, which stays right near the poles and
/// across the antimeridian where a flat degrees-per-metre offset does not.
fn point_within(rng: &mut Draws, request: &NearbyRequest) -> (f64, f64) {
    let distance_m = request.radius.metres() * RADIUS_USE * rng.unit().sqrt();
    let bearing = std::f64::consts::TAU * rng.unit();
    let angle = distance_m / EARTH_RADIUS_M;
    let lat1 = request.latitude.to_radians();
    let lng1 = request.longitude.to_radians();
    let lat2 = (lat1.sin() * angle.cos() + lat1.cos() * angle.sin() * bearing.cos()).asin();
    let lng2 = lng1 + (bearing.sin() * angle.sin() * lat1.cos()).atan2(angle.cos() - lat1.sin() * lat2.sin());
    let lng2 = (lng2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
    (round8(lat2.to_degrees()), round8(lng2))
}

/// Eight decimals is about a millimetre: exact enough, and it keeps the
/// printed JSON short.
fn round8(x: f64) -> f64 {
    (x * 1e8).round() / 1e8
}

/// Real place IDs are 27 characters starting with `ChIJ`.
fn place_id(rng: &mut Draws) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = String::from("ChIJ");
    id.extend((0..23).map(|_| ALPHABET[rng.pick(ALPHABET.len())] as char));
    id
}

/// The draws an answer is made of, from one SplitMix64 stream. Written
/// here rather than taken from `rand`'s distributions, whose algorithms may
/// change between releases, and every fake answer with them.
struct Draws(SplitMix64);

impl Draws {
    /// Seeded with the FNV-1a hash of `text`.
    fn from_text(text: &str) -> Self {
        let mut hash = FnvHasher::default();
        hash.write(text.as_bytes());
        Self(SplitMix64::seed_from_u64(hash.finish()))
    }

    /// 0 to n-1; the modulo bias is far below anything visible here.
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }

    fn pick(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// Uniform in [0, 1), from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Radius;

    fn request(latitude: f64, longitude: f64, radius_km: &str, bound: u8) -> NearbyRequest {
        NearbyRequest {
            latitude,
            longitude,
            radius: Radius::parse(radius_km).unwrap(),
            bound,
        }
    }

    fn haversine_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
        let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
        let dp = p2 - p1;
        let dl = (lng2 - lng1).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }

    /// A spread of requests: ordinary cities, tiny and huge radii, poles,
    /// the antimeridian.
    fn requests() -> Vec<NearbyRequest> {
        let mut all = Vec::new();
        for (lat, lng) in [
            (34.06893, -118.445127),
            (-33.8670522, 151.1957362),
            (0.0, 0.0),
            (89.99, 10.0),
            (-90.0, 0.0),
            (10.0, 179.999),
            (60.0, -180.0),
        ] {
            for radius in ["0.0001", "0.5", "10", "50"] {
                all.push(request(lat, lng, radius, 20));
            }
        }
        all
    }

    #[test]
    fn the_same_request_gets_the_same_answer() {
        for r in requests() {
            assert_eq!(answer(&r), answer(&r));
        }
    }

    /// Pins the generator: a change here changes every simulator trace.
    #[test]
    fn the_answer_is_stable_across_builds() {
        let fnv1a = |bytes: &[u8]| {
            let mut hash = FnvHasher::default();
            hash.write(bytes);
            hash.finish()
        };
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(SplitMix64::seed_from_u64(0).next_u64(), 0xe220_a839_7b1d_cdaf);
        let answer = answer(&request(34.06893, -118.445127, "10", 20));
        assert_eq!(answer["results"].as_array().unwrap().len(), 4);
        assert_eq!(
            answer["results"][0].to_string(),
            r#"{"business_status":"OPERATIONAL","geometry":{"location":{"lat":34.03400498,"lng":-118.40012724}},"name":"Northside Pharmacy","place_id":"ChIJm5hYvRfYgVaX4aNGwdmQxoN","rating":2.9,"types":["pharmacy","health","store","point_of_interest","establishment"],"user_ratings_total":289,"vicinity":"156 Elizabeth Road, Harbourside"}"#
        );
    }

    #[test]
    fn every_place_is_inside_the_radius() {
        let mut seen = 0;
        for r in requests() {
            let answer = answer(&r);
            for place in answer["results"].as_array().unwrap() {
                let lat = place["geometry"]["location"]["lat"].as_f64().unwrap();
                let lng = place["geometry"]["location"]["lng"].as_f64().unwrap();
                assert!(
                    (-90.0..=90.0).contains(&lat) && (-180.0..180.0).contains(&lng),
                    "{lat},{lng}"
                );
                let d = haversine_m(r.latitude, r.longitude, lat, lng);
                assert!(d <= r.radius.metres(), "{d} m from {r:?}");
                seen += 1;
            }
        }
        assert!(seen > 50, "only {seen} places over all requests");
    }

    #[test]
    fn the_bound_cuts_the_same_list() {
        let full = answer(&request(-33.8670522, 151.1957362, "1.5", 20));
        let full = full["results"].as_array().unwrap();
        assert!(full.len() > 3, "pick a request with more places");
        let cut = answer(&request(-33.8670522, 151.1957362, "1.5", 3));
        assert_eq!(cut["results"].as_array().unwrap()[..], full[..3]);
    }

    #[test]
    fn places_have_the_legacy_fields() {
        let answer = answer(&request(-33.8670522, 151.1957362, "1.5", 20));
        assert_eq!(answer["status"], "OK");
        for place in answer["results"].as_array().unwrap() {
            let keys: Vec<&str> = place.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "business_status",
                    "geometry",
                    "name",
                    "place_id",
                    "rating",
                    "types",
                    "user_ratings_total",
                    "vicinity"
                ]
            );
            let id = place["place_id"].as_str().unwrap();
            assert!(id.starts_with("ChIJ") && id.len() == 27, "{id}");
            let rating = place["rating"].as_f64().unwrap();
            assert!((2.5..=5.0).contains(&rating), "{rating}");
        }
    }

    #[test]
    fn counts_vary_and_some_requests_have_none() {
        let counts: Vec<usize> = (0..200)
            .map(|i| {
                answer(&request(f64::from(i) * 0.37 - 37.0, 12.5, "3", 20))["results"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        assert!(counts.iter().all(|&n| n <= 20));
        assert!(counts.contains(&0) && counts.contains(&20), "{counts:?}");
        let empty = (0..200)
            .map(|i| answer(&request(f64::from(i) * 0.37 - 37.0, 12.5, "3", 20)))
            .find(|a| a["results"].as_array().unwrap().is_empty())
            .unwrap();
        assert_eq!(empty["status"], "ZERO_RESULTS");
    }
}
