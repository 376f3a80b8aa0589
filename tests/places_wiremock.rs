//! Both Google back ends against wiremock standing in for Google Places,
//! over real sockets with the production reqwest transport: the exact
//! request each one sends, the bound, and every failure a client can get.

use std::sync::Arc;
use std::time::Duration;

use herd::places::new_api::FIELD_MASK;
use herd::places::{build, Backend, NearbyRequest, Places, ReqwestClient};
use herd::protocol::Radius;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AIzaTestKey-0123456789_abcdefghijk";
const LEGACY_PATH: &str = "/maps/api/place/nearbysearch/json";
const NEW_PATH: &str = "/v1/places:searchNearby";
const THIRTEEN: &str = include_str!("data/places/legacy-nearby-13-results.json");
const TWENTY_NEXT_PAGE: &str = include_str!("data/places/legacy-nearby-20-results-next-page.json");

fn ucla(radius_km: &str, bound: u8) -> NearbyRequest {
    NearbyRequest {
        latitude: 34.06893,
        longitude: -118.445127,
        radius: Radius::parse(radius_km).unwrap(),
        bound,
    }
}

fn places(backend: Backend, server: &MockServer, timeout: Duration) -> Arc<dyn Places> {
    let http = Arc::new(ReqwestClient::new(timeout).unwrap());
    build(backend, Some(KEY.to_string()), Some(server.uri()), http).unwrap()
}

async fn ask(backend: Backend, server: &MockServer, request: &NearbyRequest) -> Value {
    places(backend, server, Duration::from_secs(10))
        .nearby(request)
        .await
}

/// The one request the back end sent.
async fn only_request(server: &MockServer) -> wiremock::Request {
    let mut received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "expected exactly one request");
    received.remove(0)
}

fn results(answer: &Value) -> &Vec<Value> {
    answer["results"].as_array().expect("results array")
}

/// An error answer: no results, the given status, the given message, and no
/// trace of the key anywhere in it.
fn assert_error(answer: &Value, status: &str, message: &str) {
    assert_eq!(answer["status"], status, "{answer}");
    assert_eq!(answer["error_message"], message, "{answer}");
    assert_eq!(answer["results"], json!([]));
    assert!(!answer.to_string().contains(KEY), "key leaked: {answer}");
}

async fn serve(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .mount(server)
        .await;
}

// ---- legacy Nearby Search ----

#[tokio::test]
async fn legacy_sends_the_exact_query_and_cuts_to_the_bound() {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET",
        LEGACY_PATH,
        ResponseTemplate::new(200).set_body_string(THIRTEEN),
    )
    .await;

    let answer = ask(Backend::GoogleLegacy, &server, &ucla("10.5", 5)).await;

    let sent = only_request(&server).await;
    assert_eq!(sent.method.as_str(), "GET");
    assert_eq!(sent.url.path(), LEGACY_PATH);
    let query: Vec<(String, String)> = sent.url.query_pairs().into_owned().collect();
    let expected = [
        ("location", "34.06893,-118.445127"),
        ("radius", "10500"),
        ("key", KEY),
    ];
    assert_eq!(query, expected.map(|(k, v)| (k.to_string(), v.to_string())));

    assert_eq!(answer["status"], "OK");
    let names: Vec<&str> = results(&answer)
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let sample: Value = serde_json::from_str(THIRTEEN).unwrap();
    let sample_names: Vec<&str> = results(&sample)[..5]
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, sample_names);
}

#[tokio::test]
async fn legacy_radius_keeps_fractional_metres() {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET",
        LEGACY_PATH,
        ResponseTemplate::new(200).set_body_string(THIRTEEN),
    )
    .await;
    ask(Backend::GoogleLegacy, &server, &ucla("1.23456", 3)).await;
    let sent = only_request(&server).await;
    let radius = sent
        .url
        .query_pairs()
        .find(|(k, _)| k == "radius")
        .map(|(_, v)| v.into_owned());
    assert_eq!(radius.as_deref(), Some("1234.56"));
}

#[tokio::test]
async fn legacy_drops_the_next_page_token() {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET",
        LEGACY_PATH,
        ResponseTemplate::new(200).set_body_string(TWENTY_NEXT_PAGE),
    )
    .await;
    let answer = ask(Backend::GoogleLegacy, &server, &ucla("50", 20)).await;
    assert_eq!(answer["status"], "OK");
    assert_eq!(results(&answer).len(), 20);
    assert!(answer.get("next_page_token").is_none(), "{answer}");
}

#[tokio::test]
async fn legacy_zero_results_is_a_normal_answer() {
    let server = MockServer::start().await;
    let body = json!({"html_attributions": [], "results": [], "status": "ZERO_RESULTS"});
    serve(
        &server,
        "GET",
        LEGACY_PATH,
        ResponseTemplate::new(200).set_body_json(&body),
    )
    .await;
    let answer = ask(Backend::GoogleLegacy, &server, &ucla("0.1", 5)).await;
    assert_eq!(answer, body);
}

#[tokio::test]
async fn legacy_error_statuses_pass_through_without_the_key() {
    for status in [
        "OVER_QUERY_LIMIT",
        "REQUEST_DENIED",
        "INVALID_REQUEST",
        "UNKNOWN_ERROR",
    ] {
        let server = MockServer::start().await;
        let body = json!({
            "html_attributions": [],
            "results": [],
            "status": status,
            "error_message": format!("The provided API key is invalid. key={KEY}"),
        });
        serve(
            &server,
            "GET",
            LEGACY_PATH,
            ResponseTemplate::new(200).set_body_json(&body),
        )
        .await;
        let answer = ask(Backend::GoogleLegacy, &server, &ucla("10", 5)).await;
        assert_error(&answer, status, "The provided API key is invalid. key=<redacted>");
    }
}

#[tokio::test]
async fn legacy_http_errors_map_to_statuses() {
    for (code, status) in [(403, "REQUEST_DENIED"), (500, "UNKNOWN_ERROR")] {
        let server = MockServer::start().await;
        serve(
            &server,
            "GET",
            LEGACY_PATH,
            ResponseTemplate::new(code).set_body_string("<html>no</html>"),
        )
        .await;
        let answer = ask(Backend::GoogleLegacy, &server, &ucla("10", 5)).await;
        assert_error(&answer, status, &format!("Places answered HTTP {code}"));
    }
}

#[tokio::test]
async fn legacy_malformed_json_is_unknown_error() {
    let server = MockServer::start().await;
    serve(
        &server,
        "GET",
        LEGACY_PATH,
        ResponseTemplate::new(200).set_body_string("{\"results\": ["),
    )
    .await;
    let answer = ask(Backend::GoogleLegacy, &server, &ucla("10", 5)).await;
    assert_error(&answer, "UNKNOWN_ERROR", "Places answered with malformed JSON");
}

#[tokio::test]
async fn legacy_timeout_is_unknown_error() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200)
        .set_body_string(THIRTEEN)
        .set_delay(Duration::from_secs(2));
    serve(&server, "GET", LEGACY_PATH, slow).await;
    let places = places(Backend::GoogleLegacy, &server, Duration::from_millis(200));
    let answer = places.nearby(&ucla("10", 5)).await;
    assert_error(&answer, "UNKNOWN_ERROR", "Places did not answer in time");
}

// ---- Places API (New) ----

fn new_place(n: usize) -> Value {
    json!({
        "id": format!("ChIJnew{n}"),
        "types": ["cafe", "food", "point_of_interest", "establishment"],
        "formattedAddress": format!("{n} Westwood Plaza, Los Angeles, CA 90095, USA"),
        "shortFormattedAddress": format!("{n} Westwood Plaza, Los Angeles"),
        "location": {"latitude": 34.0689 + n as f64 * 1e-4, "longitude": -118.4452},
        "rating": 4.5,
        "userRatingCount": 100 + n,
        "businessStatus": "OPERATIONAL",
        "displayName": {"text": format!("Cafe {n}"), "languageCode": "en"},
    })
}

#[tokio::test]
async fn new_api_sends_the_exact_request_and_cuts_to_the_bound() {
    let server = MockServer::start().await;
    let body = json!({"places": (0..7).map(new_place).collect::<Vec<_>>()});
    serve(
        &server,
        "POST",
        NEW_PATH,
        ResponseTemplate::new(200).set_body_json(&body),
    )
    .await;

    let answer = ask(Backend::Google, &server, &ucla("10.5", 3)).await;

    let sent = only_request(&server).await;
    assert_eq!(sent.method.as_str(), "POST");
    assert_eq!(sent.url.path(), NEW_PATH);
    assert_eq!(sent.url.query(), None, "the key must travel in the header only");
    let header = |name: &str| sent.headers.get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(header("x-goog-api-key").as_deref(), Some(KEY));
    assert_eq!(header("x-goog-fieldmask").as_deref(), Some(FIELD_MASK));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    for field in [
        "places.id",
        "places.displayName",
        "places.location",
        "places.shortFormattedAddress",
    ] {
        assert!(
            FIELD_MASK.split(',').any(|f| f == field),
            "{field} missing from the field mask"
        );
    }
    let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
    let circle = &sent_body["locationRestriction"]["circle"];
    assert_eq!(circle["center"]["latitude"].as_f64(), Some(34.06893));
    assert_eq!(circle["center"]["longitude"].as_f64(), Some(-118.445127));
    assert_eq!(circle["radius"].as_f64(), Some(10500.0));
    assert_eq!(sent_body["maxResultCount"], 3);

    assert_eq!(answer["status"], "OK");
    assert_eq!(answer["html_attributions"], json!([]));
    let names: Vec<&str> = results(&answer)
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Cafe 0", "Cafe 1", "Cafe 2"]);
    let first = &results(&answer)[0];
    assert_eq!(first["place_id"], "ChIJnew0");
    assert_eq!(first["vicinity"], "0 Westwood Plaza, Los Angeles");
    assert_eq!(
        first["geometry"]["location"],
        json!({"lat": 34.0689, "lng": -118.4452})
    );
    assert_eq!(first["user_ratings_total"], 100);
    assert_eq!(first["business_status"], "OPERATIONAL");
}

#[tokio::test]
async fn new_api_empty_answer_is_zero_results() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        NEW_PATH,
        ResponseTemplate::new(200).set_body_json(json!({})),
    )
    .await;
    let answer = ask(Backend::Google, &server, &ucla("0.1", 5)).await;
    assert_eq!(
        answer,
        json!({"html_attributions": [], "results": [], "status": "ZERO_RESULTS"})
    );
}

#[tokio::test]
async fn new_api_http_errors_map_to_legacy_statuses() {
    let cases = [
        (400, "INVALID_ARGUMENT", "INVALID_REQUEST"),
        (403, "PERMISSION_DENIED", "REQUEST_DENIED"),
        (429, "RESOURCE_EXHAUSTED", "OVER_QUERY_LIMIT"),
        (500, "INTERNAL", "UNKNOWN_ERROR"),
    ];
    for (code, google_status, legacy_status) in cases {
        let server = MockServer::start().await;
        let body = json!({"error": {
            "code": code,
            "message": format!("API key not valid: {KEY}. Please pass a valid API key."),
            "status": google_status,
        }});
        serve(
            &server,
            "POST",
            NEW_PATH,
            ResponseTemplate::new(code).set_body_json(&body),
        )
        .await;
        let answer = ask(Backend::Google, &server, &ucla("10", 5)).await;
        assert_error(
            &answer,
            legacy_status,
            "API key not valid: <redacted>. Please pass a valid API key.",
        );
    }
}

#[tokio::test]
async fn new_api_malformed_json_is_unknown_error() {
    let server = MockServer::start().await;
    serve(
        &server,
        "POST",
        NEW_PATH,
        ResponseTemplate::new(200).set_body_string("<html>oops</html>"),
    )
    .await;
    let answer = ask(Backend::Google, &server, &ucla("10", 5)).await;
    assert_error(&answer, "UNKNOWN_ERROR", "Places answered with malformed JSON");
}

#[tokio::test]
async fn new_api_timeout_is_unknown_error() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({}))
        .set_delay(Duration::from_secs(2));
    serve(&server, "POST", NEW_PATH, slow).await;
    let places = places(Backend::Google, &server, Duration::from_millis(200));
    let answer = places.nearby(&ucla("10", 5)).await;
    assert_error(&answer, "UNKNOWN_ERROR", "Places did not answer in time");
}

#[tokio::test]
async fn unreachable_places_is_unknown_error_without_the_key() {
    // A port that was just bound and is now closed: connection refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    for backend in [Backend::Google, Backend::GoogleLegacy] {
        let http = Arc::new(ReqwestClient::new(Duration::from_secs(5)).unwrap());
        let places = build(backend, Some(KEY.to_string()), Some(base_url.clone()), http).unwrap();
        let answer = places.nearby(&ucla("10", 5)).await;
        assert_eq!(answer["status"], "UNKNOWN_ERROR", "{answer}");
        let message = answer["error_message"].as_str().unwrap();
        assert!(message.starts_with("could not reach Places: "), "{message}");
        assert!(!message.contains(KEY) && !message.contains("key="), "{message}");
        assert!(!message.contains(&base_url), "the URL must not appear: {message}");
    }
}
