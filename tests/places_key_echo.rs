//! The Places API key never reaches a client, even when the upstream (a
//! proxy, a misbehaving mock, Google itself) echoes it into its answer.
//! Both Google back ends, against wiremock over real sockets.

use std::sync::Arc;
use std::time::Duration;

use herd::places::{build, Backend, NearbyRequest, ReqwestClient};
use herd::protocol::Radius;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A key with characters that percent-encoding changes, so both forms of
/// it can be looked for.
const KEY: &str = "AIza odd/key+0123";
const KEY_ENCODED: &str = "AIza%20odd%2Fkey%2B0123";

/// Every form of the key found in `answer`, with the answer.
fn key_traces(answer: &Value) -> Vec<String> {
    let text = answer.to_string();
    [KEY, KEY_ENCODED]
        .iter()
        .filter(|form| text.contains(*form))
        .map(|form| format!("{form:?} in {text}"))
        .collect()
}

/// The key echoed in a name, a vicinity, a page token, a type, a field
/// name, plain or percent-encoded: no form of it reaches a client, and the
/// rest of the answer does.
#[tokio::test]
async fn a_key_echoed_anywhere_in_an_answer_never_reaches_the_client() {
    let legacy_body = json!({
        "html_attributions": [format!("by {KEY}")],
        "next_page_token": KEY,
        "results": [{
            "name": format!("Cafe {KEY}"),
            "vicinity": format!("1 Main St?key={KEY_ENCODED}"),
            "types": ["cafe", KEY],
            "place_id": "ChIJ1",
            KEY: "a field named after the key",
        }],
        "status": "OK",
    });
    let new_body = json!({"places": [{
        "id": KEY_ENCODED,
        "displayName": {"text": format!("Cafe {KEY}")},
        "shortFormattedAddress": format!("1 Main St?key={KEY_ENCODED}"),
        "types": ["cafe", KEY],
    }]});
    for (backend, verb, route, body) in [
        (
            Backend::GoogleLegacy,
            "GET",
            "/maps/api/place/nearbysearch/json",
            legacy_body,
        ),
        (Backend::Google, "POST", "/v1/places:searchNearby", new_body),
    ] {
        let server = MockServer::start().await;
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(&body))
            .mount(&server)
            .await;
        let http = Arc::new(ReqwestClient::new(Duration::from_secs(10)).unwrap());
        let places = build(backend, Some(KEY.to_string()), Some(server.uri()), http).unwrap();
        let request = NearbyRequest {
            latitude: 34.06893,
            longitude: -118.445127,
            radius: Radius::parse("10").unwrap(),
            bound: 5,
        };
        let answer = places.nearby(&request).await;

        assert_eq!(key_traces(&answer), Vec::<String>::new(), "{backend:?}");
        assert_eq!(answer["status"], "OK", "{answer}");
        let first = &answer["results"][0];
        assert_eq!(first["name"], "Cafe <redacted>", "{answer}");
        assert_eq!(first["vicinity"], "1 Main St?key=<redacted>", "{answer}");
        assert_eq!(first["types"], json!(["cafe", "<redacted>"]), "{answer}");
    }
}
