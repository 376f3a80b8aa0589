//! Places API (New), `places:searchNearby`, translated into the legacy
//! answer shape so clients see one format whichever API is behind.

use http::header::{HeaderValue, CONTENT_TYPE};
use serde_json::{json, Map, Value};

use super::failure;
use super::google::GoogleApi;
use super::transport::HttpRequest;
use super::NearbyRequest;

/// Exactly the fields [`translate_place`] reads. The New API bills by the
/// field mask, and without a mask it refuses the request.
pub const FIELD_MASK: &str = "places.id,places.displayName,places.formattedAddress,\
places.shortFormattedAddress,places.location,places.types,places.rating,\
places.userRatingCount,places.businessStatus";

/// `POST /v1/places:searchNearby`, the key in a header.
pub struct NewApi;

impl GoogleApi for NewApi {
    const DEFAULT_BASE_URL: &'static str = "https://places.googleapis.com";

    fn request(base_url: &str, key: &str, search: &NearbyRequest) -> http::Result<HttpRequest> {
        let mut key = HeaderValue::from_str(key)?;
        // Keeps it out of the HTTP stack's own debug output.
        key.set_sensitive(true);
        http::Request::post(format!("{base_url}/v1/places:searchNearby"))
            .header(CONTENT_TYPE, "application/json")
            .header("X-Goog-Api-Key", key)
            .header("X-Goog-FieldMask", FIELD_MASK)
            .body(request_body(search).to_string().into_bytes())
    }

    /// `OK` with results, or `ZERO_RESULTS` (the New API then answers
    /// `{}`), or an error answer.
    fn translate(body: &[u8], bound: u8) -> Value {
        let Ok(Value::Object(answer)) = serde_json::from_slice::<Value>(body) else {
            return failure::malformed();
        };
        if answer.contains_key("error") {
            // Not expected with 200, but an error object must not pass as "no places".
            return failure::http_error(200, body);
        }
        let places = match answer.get("places") {
            None => &Vec::new(),
            Some(Value::Array(places)) => places,
            Some(_) => return failure::malformed(),
        };
        let mut results = Vec::with_capacity(places.len().min(usize::from(bound)));
        for place in places.iter().take(usize::from(bound)) {
            if !place.is_object() {
                return failure::malformed();
            }
            results.push(translate_place(place));
        }
        let status = if results.is_empty() { "ZERO_RESULTS" } else { "OK" };
        json!({"html_attributions": [], "results": results, "status": status})
    }
}

pub fn request_body(request: &NearbyRequest) -> Value {
    json!({
        "locationRestriction": {
            "circle": {
                "center": {"latitude": request.latitude, "longitude": request.longitude},
                "radius": request.radius.metres(),
            }
        },
        "maxResultCount": request.bound,
    })
}

/// One place, with the legacy field names in the legacy (alphabetical)
/// order. A field the New API left out stays out rather than being invented.
pub fn translate_place(place: &Value) -> Value {
    let mut out = Map::new();
    let status = place.get("businessStatus").and_then(Value::as_str);
    if let Some(status) = status.filter(|s| *s != "BUSINESS_STATUS_UNSPECIFIED") {
        out.insert("business_status".into(), status.into());
    }
    let lat = place.pointer("/location/latitude").and_then(Value::as_f64);
    let lng = place.pointer("/location/longitude").and_then(Value::as_f64);
    if let (Some(lat), Some(lng)) = (lat, lng) {
        out.insert("geometry".into(), json!({"location": {"lat": lat, "lng": lng}}));
    }
    if let Some(name) = place.pointer("/displayName/text").filter(|v| v.is_string()) {
        out.insert("name".into(), name.clone());
    }
    if let Some(id) = place.get("id").filter(|v| v.is_string()) {
        out.insert("place_id".into(), id.clone());
    }
    if let Some(rating) = place.get("rating").filter(|v| v.is_number()) {
        out.insert("rating".into(), rating.clone());
    }
    if let Some(types) = place.get("types").filter(|v| v.is_array()) {
        out.insert("types".into(), types.clone());
    }
    if let Some(count) = place.get("userRatingCount").filter(|v| v.is_number()) {
        out.insert("user_ratings_total".into(), count.clone());
    }
    // The legacy `vicinity` is the short street-and-suburb form.
    let vicinity = place
        .get("shortFormattedAddress")
        .or_else(|| place.get("formattedAddress"))
        .filter(|v| v.is_string());
    if let Some(vicinity) = vicinity {
        out.insert("vicinity".into(), vicinity.clone());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Radius;

    fn sydney_place(n: u32) -> Value {
        json!({
            "id": format!("ChIJplace{n}"),
            "types": ["bar", "restaurant", "food", "point_of_interest", "establishment"],
            "formattedAddress": "Circular Quay W, The Rocks NSW 2000, Australia",
            "shortFormattedAddress": "Circular Quay W, The Rocks",
            "location": {"latitude": -33.8587323, "longitude": 151.2100055},
            "rating": 4,
            "userRatingCount": 1269,
            "businessStatus": "OPERATIONAL",
            "displayName": {"text": format!("Cruise Bar {n}"), "languageCode": "en"},
        })
    }

    #[test]
    fn a_full_place_becomes_a_legacy_result() {
        let answer = NewApi::translate(json!({"places": [sydney_place(1)]}).to_string().as_bytes(), 5);
        assert_eq!(
            answer,
            json!({
                "html_attributions": [],
                "results": [{
                    "business_status": "OPERATIONAL",
                    "geometry": {"location": {"lat": -33.8587323, "lng": 151.2100055}},
                    "name": "Cruise Bar 1",
                    "place_id": "ChIJplace1",
                    "rating": 4,
                    "types": ["bar", "restaurant", "food", "point_of_interest", "establishment"],
                    "user_ratings_total": 1269,
                    "vicinity": "Circular Quay W, The Rocks",
                }],
                "status": "OK",
            })
        );
    }

    #[test]
    fn missing_fields_stay_missing() {
        let place = json!({"id": "X", "formattedAddress": "1 Long Road, Town", "businessStatus": "BUSINESS_STATUS_UNSPECIFIED"});
        let result = translate_place(&place);
        assert_eq!(result, json!({"place_id": "X", "vicinity": "1 Long Road, Town"}));
    }

    #[test]
    fn results_are_cut_to_the_bound() {
        let places: Vec<Value> = (0..7).map(sydney_place).collect();
        let answer = NewApi::translate(json!({ "places": places }).to_string().as_bytes(), 3);
        let names: Vec<&str> = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Cruise Bar 0", "Cruise Bar 1", "Cruise Bar 2"]);
    }

    #[test]
    fn an_empty_answer_is_zero_results() {
        let answer = NewApi::translate(b"{}", 5);
        assert_eq!(
            answer,
            json!({"html_attributions": [], "results": [], "status": "ZERO_RESULTS"})
        );
    }

    #[test]
    fn an_error_object_is_no_zero_results() {
        let body = json!({"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}});
        let answer = NewApi::translate(body.to_string().as_bytes(), 5);
        assert_eq!(answer["status"], "UNKNOWN_ERROR");
        assert_eq!(answer["error_message"], "denied");
    }

    #[test]
    fn malformed_answers_are_unknown_errors() {
        for body in [&b"{"[..], b"[]", br#"{"places":{}}"#, br#"{"places":[1]}"#] {
            assert_eq!(
                NewApi::translate(body, 5),
                failure::malformed(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_request_body_has_the_radius_in_metres() {
        let request = NearbyRequest {
            latitude: 34.068930,
            longitude: -118.445127,
            radius: Radius::parse("10.5").unwrap(),
            bound: 7,
        };
        assert_eq!(
            request_body(&request),
            json!({
                "locationRestriction": {"circle": {"center": {"latitude": 34.06893, "longitude": -118.445127}, "radius": 10500.0}},
                "maxResultCount": 7,
            })
        );
    }
}
