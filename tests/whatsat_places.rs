//! WHATSAT end to end through a server whose Places back end talks HTTP to
//! a local mock standing in for Google, for both API generations: what the
//! request carries, what the client gets back, and that a slow or failing
//! Places hurts nobody else.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use herd::local::LocalHerd;
use herd::places::{HttpClient, LegacyPlaces, NewPlaces, Places, ReqwestClient};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "test-key_0123456789";
const LEGACY_PATH: &str = "/maps/api/place/nearbysearch/json";
const NEW_PATH: &str = "/v1/places:searchNearby";
const THIRTEEN: &str = include_str!("data/places/legacy-nearby-13-results.json");
/// Where the client is: the SPEC's example, as the server will print it.
const LOCATION: &str = "+34.068930-118.445127";
const LOCATION_QUERY: &str = "34.06893,-118.445127";

fn http(timeout: Duration) -> Arc<dyn HttpClient> {
    Arc::new(ReqwestClient::new(timeout).expect("HTTP client"))
}

fn legacy(mock: &MockServer) -> Arc<dyn Places> {
    Arc::new(LegacyPlaces::new(
        http(Duration::from_secs(1)),
        Some(mock.uri()),
        KEY.into(),
    ))
}

fn new_api(mock: &MockServer) -> Arc<dyn Places> {
    Arc::new(NewPlaces::new(
        http(Duration::from_secs(1)),
        Some(mock.uri()),
        KEY.into(),
    ))
}

/// A one-server herd on `places`, with `kiwi` located at `LOCATION`.
/// Returns the herd, a connected client, and kiwi's AT line.
async fn herd_with_kiwi(places: Arc<dyn Places>) -> (LocalHerd, LineClient, String) {
    let herd = start(&solo_herd(fast_tuning()), places).await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    let at_line = c
        .ask(&format!("IAMAT kiwi {LOCATION} 1520023934.918963997"))
        .await;
    (herd, c, at_line)
}

/// Splits a WHATSAT reply into its AT line and JSON, checking its shape.
fn split_reply(reply: &str) -> (String, Value) {
    let (at_line, body) = reply.split_once('\n').expect("AT line then JSON");
    let body = body.strip_suffix("\n\n").expect("ends with an empty line");
    assert!(!body.contains("\n\n") && !body.ends_with('\n'), "{body:?}");
    assert!(!reply.contains(KEY), "the API key leaked to a client: {reply}");
    (
        at_line.to_string(),
        serde_json::from_str(body).expect("JSON body"),
    )
}

fn new_api_place(n: u32) -> Value {
    json!({
        "id": format!("ChIJnew{n}"),
        "types": ["cafe", "food", "point_of_interest", "establishment"],
        "formattedAddress": format!("{n} Westwood Plaza, Los Angeles, CA 90095, USA"),
        "shortFormattedAddress": format!("{n} Westwood Plaza, Los Angeles"),
        "location": {"latitude": 34.07, "longitude": -118.44},
        "rating": 4.5,
        "userRatingCount": 100 + n,
        "businessStatus": "OPERATIONAL",
        "displayName": {"text": format!("Cafe {n}"), "languageCode": "en"},
    })
}

#[tokio::test]
async fn legacy_request_has_the_radius_in_metres_and_the_key() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LEGACY_PATH))
        .and(query_param("location", LOCATION_QUERY))
        .and(query_param("radius", "10500"))
        .and(query_param("key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(THIRTEEN))
        .expect(1)
        .mount(&mock)
        .await;
    let (herd, mut c, at_line) = herd_with_kiwi(legacy(&mock)).await;

    c.send("WHATSAT kiwi 10.5 5\n").await;
    let (first, answer) = split_reply(&c.whatsat_reply().await);
    assert_eq!(first, at_line);
    assert_eq!(answer["status"], "OK");
    let names: Vec<&str> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let original: Value = serde_json::from_str(THIRTEEN).unwrap();
    let first_five: Vec<&str> = original["results"].as_array().unwrap()[..5]
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, first_five);
    mock.verify().await;
    herd.shutdown().await;
}

#[tokio::test]
async fn legacy_over_query_limit_reaches_the_client_as_an_error_answer() {
    let mock = MockServer::start().await;
    let quota = json!({
        "error_message": format!("You have exceeded your daily request quota for this API. (key {KEY})"),
        "html_attributions": [],
        "results": [],
        "status": "OVER_QUERY_LIMIT",
    });
    Mock::given(method("GET"))
        .and(path(LEGACY_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(quota))
        .mount(&mock)
        .await;
    let (herd, mut c, at_line) = herd_with_kiwi(legacy(&mock)).await;

    c.send("WHATSAT kiwi 1 3\n").await;
    let (first, answer) = split_reply(&c.whatsat_reply().await);
    assert_eq!(first, at_line);
    assert_eq!(
        answer,
        json!({
            "html_attributions": [],
            "results": [],
            "status": "OVER_QUERY_LIMIT",
            "error_message": "You have exceeded your daily request quota for this API. (key <redacted>)",
        })
    );
    // The connection is still good for the next question.
    assert!(c.ask("IAMAT kiwi +1+1 1520023935").await.starts_with("AT Solo "));
    herd.shutdown().await;
}

#[tokio::test]
async fn new_api_request_carries_key_field_mask_metres_and_bound() {
    let mock = MockServer::start().await;
    let places: Vec<Value> = (1..=6).map(new_api_place).collect();
    Mock::given(method("POST"))
        .and(path(NEW_PATH))
        .and(header("X-Goog-Api-Key", KEY))
        .and(header_exists("X-Goog-FieldMask"))
        .and(body_partial_json(json!({
            "locationRestriction": {"circle": {"center": {"latitude": 34.06893, "longitude": -118.445127}, "radius": 10500.0}},
            "maxResultCount": 3,
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "places": places })))
        .expect(1)
        .mount(&mock)
        .await;
    let (herd, mut c, at_line) = herd_with_kiwi(new_api(&mock)).await;

    c.send("WHATSAT kiwi 10.5 3\n").await;
    let (first, answer) = split_reply(&c.whatsat_reply().await);
    assert_eq!(first, at_line);
    assert_eq!(answer["status"], "OK");
    let results = answer["results"].as_array().unwrap();
    let names: Vec<&str> = results.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Cafe 1", "Cafe 2", "Cafe 3"]);
    // Clients see the legacy shape whichever API is behind.
    assert_eq!(results[0]["vicinity"], "1 Westwood Plaza, Los Angeles");
    assert_eq!(
        results[0]["geometry"]["location"],
        json!({"lat": 34.07, "lng": -118.44})
    );

    let requests = mock.received_requests().await.unwrap();
    let mask = requests[0]
        .headers
        .get("X-Goog-FieldMask")
        .unwrap()
        .to_str()
        .unwrap();
    for field in ["places.displayName", "places.location", "places.id"] {
        assert!(
            mask.split(',').any(|f| f == field),
            "field mask {mask:?} lacks {field}"
        );
    }
    mock.verify().await;
    herd.shutdown().await;
}

#[tokio::test]
async fn new_api_429_reaches_the_client_as_over_query_limit() {
    let mock = MockServer::start().await;
    let error = json!({"error": {
        "code": 429,
        "message": "Quota exceeded for quota metric 'SearchNearby requests' of service 'places.googleapis.com'.",
        "status": "RESOURCE_EXHAUSTED",
    }});
    Mock::given(method("POST"))
        .and(path(NEW_PATH))
        .respond_with(ResponseTemplate::new(429).set_body_json(error))
        .mount(&mock)
        .await;
    let (herd, mut c, at_line) = herd_with_kiwi(new_api(&mock)).await;

    c.send("WHATSAT kiwi 2 4\n").await;
    let (first, answer) = split_reply(&c.whatsat_reply().await);
    assert_eq!(first, at_line);
    assert_eq!(
        answer,
        json!({
            "html_attributions": [],
            "results": [],
            "status": "OVER_QUERY_LIMIT",
            "error_message": "Quota exceeded for quota metric 'SearchNearby requests' of service 'places.googleapis.com'.",
        })
    );
    herd.shutdown().await;
}

/// One WHATSAT stuck on a Places that does not answer: another client's
/// IAMAT, and another client's WHATSAT that Places does answer, are both
/// served while it waits; the stuck one ends with an error answer once the
/// request deadline passes.
#[tokio::test]
async fn a_stuck_places_request_slows_nobody_else() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LEGACY_PATH))
        .and(query_param("radius", "20000"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(THIRTEEN)
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(LEGACY_PATH))
        .and(query_param("radius", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_string(THIRTEEN))
        .mount(&mock)
        .await;
    // A request deadline long enough that the checks below finish well
    // inside it, even on a loaded machine.
    let places = LegacyPlaces::new(http(Duration::from_secs(2)), Some(mock.uri()), KEY.into());
    let (herd, mut stuck, at_line) = herd_with_kiwi(Arc::new(places)).await;

    stuck.send("WHATSAT kiwi 20 5\n").await;
    let deadline = Deadline::after(PATIENCE, "the stuck request reaches Places");
    while mock.received_requests().await.unwrap().is_empty() {
        deadline.tick().await;
    }

    let mut other = LineClient::connect(herd.addr("Solo")).await;
    assert!(other.ask("IAMAT other +1+1 7").await.starts_with("AT Solo "));
    other.send("WHATSAT kiwi 1 2\n").await;
    let (_, answer) = split_reply(&other.whatsat_reply().await);
    assert_eq!(answer["results"].as_array().unwrap().len(), 2);
    // All that happened while the first WHATSAT was still waiting.
    let mut probe = [0u8; 1];
    assert!(
        matches!(stuck.stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the stuck WHATSAT was answered already"
    );

    let (first, answer) = split_reply(&stuck.whatsat_reply().await);
    assert_eq!(first, at_line);
    assert_eq!(answer["status"], "UNKNOWN_ERROR");
    assert_eq!(answer["results"], json!([]));
    assert!(
        answer["error_message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    herd.shutdown().await;
}

/// Stopping a server lets a WHATSAT already waiting on Places finish: the
/// client gets the whole reply, then the connection closes.
#[tokio::test]
async fn a_reply_in_flight_is_finished_before_the_server_stops() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LEGACY_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(THIRTEEN)
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&mock)
        .await;
    let (mut herd, mut c, at_line) = herd_with_kiwi(legacy(&mock)).await;
    c.send("WHATSAT kiwi 5 4\n").await;
    let deadline = Deadline::after(PATIENCE, "the request reaches Places");
    while mock.received_requests().await.unwrap().is_empty() {
        deadline.tick().await;
    }

    let (stopped, reply) = tokio::join!(herd.stop("Solo"), c.whatsat_reply());
    stopped.expect("a clean stop");
    let (first, answer) = split_reply(&reply);
    assert_eq!(first, at_line);
    assert_eq!(
        (
            answer["status"].as_str(),
            answer["results"].as_array().map(Vec::len)
        ),
        (Some("OK"), Some(4))
    );
    c.expect_closed().await;
    herd.shutdown().await;
}
