//! The legacy Nearby Search (`/maps/api/place/nearbysearch/json`). Its
//! answers are already in the shape clients get; we only cut them to the
//! bound and normalise failures.

use serde_json::Value;

use super::failure;
use super::google::GoogleApi;
use super::scrub::query;
use super::transport::HttpRequest;
use super::{error_response, NearbyRequest};

const ERROR_STATUSES: [&str; 4] = [
    "INVALID_REQUEST",
    "OVER_QUERY_LIMIT",
    "REQUEST_DENIED",
    "UNKNOWN_ERROR",
];

/// `GET /maps/api/place/nearbysearch/json?location=LAT,LNG&radius=M&key=K`.
pub struct LegacyApi;

impl GoogleApi for LegacyApi {
    const DEFAULT_BASE_URL: &'static str = "https://maps.googleapis.com";

    fn request(base_url: &str, key: &str, search: &NearbyRequest) -> http::Result<HttpRequest> {
        let location = format!("{},{}", search.latitude, search.longitude);
        let radius = search.radius.metres_text();
        let query = query(&[("location", &location), ("radius", &radius), ("key", key)]);
        http::Request::get(format!("{base_url}/maps/api/place/nearbysearch/json?{query}")).body(Vec::new())
    }

    /// Turns one legacy answer into the client's answer.
    ///
    /// `next_page_token` is dropped: we never fetch further pages (a bound is
    /// at most 20, which one page always covers), and a token a client cannot
    /// redeem through the herd would only mislead.
    fn translate(body: &[u8], bound: u8) -> Value {
        let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(body) else {
            return failure::malformed();
        };
        let Some(status) = answer.get("status").and_then(Value::as_str).map(str::to_string) else {
            return failure::malformed();
        };
        let google_message = answer.get("error_message").and_then(Value::as_str).unwrap_or("");
        match status.as_str() {
            "OK" | "ZERO_RESULTS" => {
                let results = answer
                    .entry("results")
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Some(results) = results.as_array_mut() else {
                    return failure::malformed();
                };
                results.truncate(usize::from(bound));
                answer.shift_remove("next_page_token");
                Value::Object(answer)
            }
            known if ERROR_STATUSES.contains(&known) => {
                let message = if google_message.is_empty() {
                    format!("Places answered {known}")
                } else {
                    google_message.to_string()
                };
                error_response(known, &message)
            }
            // Google documents no other status for Nearby Search; keep the set
            // clients see closed, and say what came.
            other => {
                let message = format!("Places answered status {other}: {google_message}");
                error_response("UNKNOWN_ERROR", message.trim_end_matches([':', ' ']))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Radius;
    use serde_json::json;

    const THIRTEEN: &str = include_str!("../../tests/data/places/legacy-nearby-13-results.json");
    const TWENTY_NEXT_PAGE: &str =
        include_str!("../../tests/data/places/legacy-nearby-20-results-next-page.json");

    fn results(answer: &Value) -> &Vec<Value> {
        answer["results"].as_array().expect("results array")
    }

    #[test]
    fn the_request_encodes_every_query_value() {
        let search = NearbyRequest {
            latitude: 34.06893,
            longitude: -118.445127,
            radius: Radius::parse("10.5").unwrap(),
            bound: 5,
        };
        let request = LegacyApi::request("http://mock", "k y/+", &search).unwrap();
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(
            request.uri(),
            "http://mock/maps/api/place/nearbysearch/json?location=34.06893%2C-118.445127&radius=10500&key=k%20y%2F%2B"
        );
        assert!(request.body().is_empty());
    }

    #[test]
    fn a_real_answer_is_cut_to_the_bound_and_otherwise_kept() {
        let original: Value = serde_json::from_str(THIRTEEN).unwrap();
        let answer = LegacyApi::translate(THIRTEEN.as_bytes(), 5);
        assert_eq!(answer["status"], "OK");
        assert_eq!(results(&answer).len(), 5);
        assert_eq!(results(&answer)[..], results(&original)[..5]);
        assert_eq!(answer["results"][0]["name"], "Cruise Bar");
        assert_eq!(answer["html_attributions"], json!([]));
    }

    #[test]
    fn a_bound_above_the_count_keeps_every_result() {
        let answer = LegacyApi::translate(THIRTEEN.as_bytes(), 20);
        assert_eq!(results(&answer).len(), 13);
    }

    #[test]
    fn next_page_token_is_dropped() {
        let original: Value = serde_json::from_str(TWENTY_NEXT_PAGE).unwrap();
        assert!(original.get("next_page_token").is_some());
        let answer = LegacyApi::translate(TWENTY_NEXT_PAGE.as_bytes(), 20);
        assert!(answer.get("next_page_token").is_none());
        assert_eq!(results(&answer).len(), 20);
        let keys: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["html_attributions", "results", "status"]);
    }

    #[test]
    fn zero_results_is_a_normal_answer() {
        let body = br#"{"html_attributions":[],"results":[],"status":"ZERO_RESULTS"}"#;
        let answer = LegacyApi::translate(body, 5);
        assert_eq!(
            answer,
            json!({"html_attributions": [], "results": [], "status": "ZERO_RESULTS"})
        );
    }

    #[test]
    fn error_statuses_keep_googles_message() {
        for status in ERROR_STATUSES {
            let body = json!({
                "html_attributions": [],
                "results": [],
                "status": status,
                "error_message": "The provided API key is invalid.",
            });
            let answer = LegacyApi::translate(body.to_string().as_bytes(), 5);
            assert_eq!(answer["status"], status);
            assert_eq!(answer["error_message"], "The provided API key is invalid.");
        }
    }

    #[test]
    fn an_error_status_without_a_message_gets_one() {
        let answer = LegacyApi::translate(br#"{"results":[],"status":"OVER_QUERY_LIMIT"}"#, 5);
        assert_eq!(answer["status"], "OVER_QUERY_LIMIT");
        assert_eq!(answer["error_message"], "Places answered OVER_QUERY_LIMIT");
    }

    #[test]
    fn an_unknown_status_becomes_unknown_error() {
        let answer = LegacyApi::translate(br#"{"results":[],"status":"NOT_FOUND"}"#, 5);
        assert_eq!(answer["status"], "UNKNOWN_ERROR");
        assert_eq!(answer["error_message"], "Places answered status NOT_FOUND");
    }

    #[test]
    fn malformed_answers_are_unknown_errors() {
        for body in [
            &b"not json"[..],
            b"[1,2]",
            br#"{"results":[]}"#,
            br#"{"status":"OK","results":{}}"#,
        ] {
            let answer = LegacyApi::translate(body, 5);
            assert_eq!(answer, failure::malformed(), "{}", String::from_utf8_lossy(body));
        }
    }
}
