//! The legacy Nearby Search (`/maps/api/place/nearbysearch/json`). Its
//! answers are already in the shape clients get; we only cut them to the
//! bound and normalise failures.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::failure;
use super::http::{HttpClient, HttpRequest, Method};
use super::scrub::{percent_encode, scrub};
use super::{error_response, NearbyRequest, Places, PlacesFuture};

pub const DEFAULT_BASE_URL: &str = "https://maps.googleapis.com";

const ERROR_STATUSES: [&str; 4] = [
    "INVALID_REQUEST",
    "OVER_QUERY_LIMIT",
    "REQUEST_DENIED",
    "UNKNOWN_ERROR",
];

pub struct LegacyPlaces {
    pub http: Arc<dyn HttpClient>,
    pub base_url: String,
    pub key: String,
}

impl LegacyPlaces {
    pub fn new(http: Arc<dyn HttpClient>, base_url: Option<String>, key: String) -> Self {
        let base_url = base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        Self { http, base_url, key }
    }

    /// The request URL. It holds the key, so it must never be logged.
    pub fn url(&self, request: &NearbyRequest) -> String {
        format!(
            "{}/maps/api/place/nearbysearch/json?location={},{}&radius={}&key={}",
            self.base_url.trim_end_matches('/'),
            request.latitude,
            request.longitude,
            request.radius.metres_text(),
            percent_encode(&self.key),
        )
    }

    async fn search(&self, request: &NearbyRequest) -> Value {
        let http_request = HttpRequest {
            method: Method::Get,
            url: self.url(request),
            headers: Vec::new(),
            body: None,
        };
        match self.http.send(http_request).await {
            Ok(response) => translate(response.status, &response.body, request.bound, &self.key),
            Err(error) => failure::transport(&error, &self.key),
        }
    }
}

impl Places for LegacyPlaces {
    fn nearby<'a>(&'a self, request: &'a NearbyRequest) -> PlacesFuture<'a> {
        Box::pin(self.search(request))
    }
}

/// Never shows the key, so a `{:?}` in a log line is safe.
impl fmt::Debug for LegacyPlaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacyPlaces")
            .field("base_url", &self.base_url)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Turns one legacy answer into the client's answer.
///
/// `next_page_token` is dropped: we never fetch further pages (a bound is
/// at most 20, which one page always covers), and a token a client cannot
/// redeem through the herd would only mislead.
pub fn translate(http_status: u16, body: &[u8], bound: u8, key: &str) -> Value {
    if http_status != 200 {
        return failure::http_error(http_status, body, key);
    }
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
            if let Some(Value::String(message)) = answer.get_mut("error_message") {
                *message = scrub(message, key);
            }
            Value::Object(answer)
        }
        known if ERROR_STATUSES.contains(&known) => {
            let message = if google_message.is_empty() {
                format!("Places answered {known}")
            } else {
                google_message.to_string()
            };
            error_response(known, &scrub(&message, key))
        }
        // Google documents no other status for Nearby Search; keep the set
        // clients see closed, and say what came.
        other => {
            let message = format!("Places answered status {other}: {google_message}");
            error_response("UNKNOWN_ERROR", &scrub(message.trim_end_matches([':', ' ']), key))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const THIRTEEN: &str = include_str!("../../tests/data/places/legacy-nearby-13-results.json");
    const TWENTY_NEXT_PAGE: &str =
        include_str!("../../tests/data/places/legacy-nearby-20-results-next-page.json");

    fn results(answer: &Value) -> &Vec<Value> {
        answer["results"].as_array().expect("results array")
    }

    #[test]
    fn a_real_answer_is_cut_to_the_bound_and_otherwise_kept() {
        let original: Value = serde_json::from_str(THIRTEEN).unwrap();
        let answer = translate(200, THIRTEEN.as_bytes(), 5, "K");
        assert_eq!(answer["status"], "OK");
        assert_eq!(results(&answer).len(), 5);
        assert_eq!(results(&answer)[..], results(&original)[..5]);
        assert_eq!(answer["results"][0]["name"], "Cruise Bar");
        assert_eq!(answer["html_attributions"], json!([]));
    }

    #[test]
    fn a_bound_above_the_count_keeps_every_result() {
        let answer = translate(200, THIRTEEN.as_bytes(), 20, "K");
        assert_eq!(results(&answer).len(), 13);
    }

    #[test]
    fn next_page_token_is_dropped() {
        let original: Value = serde_json::from_str(TWENTY_NEXT_PAGE).unwrap();
        assert!(original.get("next_page_token").is_some());
        let answer = translate(200, TWENTY_NEXT_PAGE.as_bytes(), 20, "K");
        assert!(answer.get("next_page_token").is_none());
        assert_eq!(results(&answer).len(), 20);
        let keys: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["html_attributions", "results", "status"]);
    }

    #[test]
    fn zero_results_is_a_normal_answer() {
        let body = br#"{"html_attributions":[],"results":[],"status":"ZERO_RESULTS"}"#;
        let answer = translate(200, body, 5, "K");
        assert_eq!(
            answer,
            json!({"html_attributions": [], "results": [], "status": "ZERO_RESULTS"})
        );
    }

    #[test]
    fn error_statuses_keep_googles_message_without_the_key() {
        for status in ERROR_STATUSES {
            let body = json!({
                "html_attributions": [],
                "results": [],
                "status": status,
                "error_message": "The provided API key SECRETKEY is invalid.",
            });
            let answer = translate(200, body.to_string().as_bytes(), 5, "SECRETKEY");
            assert_eq!(answer["status"], status);
            assert_eq!(
                answer["error_message"],
                "The provided API key <redacted> is invalid."
            );
        }
    }

    #[test]
    fn an_error_status_without_a_message_gets_one() {
        let answer = translate(200, br#"{"results":[],"status":"OVER_QUERY_LIMIT"}"#, 5, "K");
        assert_eq!(answer["status"], "OVER_QUERY_LIMIT");
        assert_eq!(answer["error_message"], "Places answered OVER_QUERY_LIMIT");
    }

    #[test]
    fn an_unknown_status_becomes_unknown_error() {
        let answer = translate(200, br#"{"results":[],"status":"NOT_FOUND"}"#, 5, "K");
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
            let answer = translate(200, body, 5, "K");
            assert_eq!(answer, failure::malformed(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn http_errors_map_to_legacy_statuses() {
        assert_eq!(translate(403, b"", 5, "K")["status"], "REQUEST_DENIED");
        assert_eq!(translate(500, b"", 5, "K")["status"], "UNKNOWN_ERROR");
    }
}
