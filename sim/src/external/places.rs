//! The Places stand-in for a real herd: a wiremock server, behind a small
//! front that refuses connections while Places is `down`. It answers the
//! legacy Nearby Search (`GET .../nearbysearch/json`) and Places API (New)
//! (`POST .../places:searchNearby`) as the `places` steps say, and keeps
//! each request's radius (metres, as sent) and when it came, so that the
//! radius is checked and a reply can be told to come from Places or not.
//! The answers are the simulator's own (`world::places`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::clock::RealClock;
use crate::world::places::{nearby_answer, Behaviour};

#[derive(Default)]
struct State {
    behaviour: Option<Behaviour>,
    /// Radii of requests not yet handed to the radius check.
    radii_m: Vec<String>,
    /// When each request came (POSIX ns), and connections refused.
    touched_ns: Vec<i128>,
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct StandIn {
    _server: MockServer,
    state: Shared,
    url: String,
}

impl StandIn {
    pub async fn start() -> std::io::Result<Self> {
        let state = Shared::default();
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Answer(state.clone()))
            .mount(&server)
            .await;
        let front = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", front.local_addr()?);
        tokio::task::spawn_local(front_door(front, *server.address(), state.clone()));
        Ok(Self {
            _server: server,
            state,
            url,
        })
    }

    /// The base URL servers are given (`{places}`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn set(&self, behaviour: Behaviour) {
        lock(&self.state).behaviour = Some(behaviour);
    }

    /// The radius of every request since the last call.
    pub fn take_radii(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.state).radii_m)
    }

    /// Whether Places was asked anything between these POSIX times.
    pub fn asked_between(&self, from_ns: i128, to_ns: i128) -> bool {
        lock(&self.state)
            .touched_ns
            .iter()
            .any(|t| (from_ns..=to_ns).contains(t))
    }
}

/// Refuses connections while Places is down (closing them at once), and
/// passes the others on to wiremock.
async fn front_door(front: TcpListener, wiremock: SocketAddr, state: Shared) {
    while let Ok((mut inbound, _)) = front.accept().await {
        if matches!(lock(&state).behaviour, Some(Behaviour::Down)) {
            lock(&state).touched_ns.push(RealClock::posix_ns());
            continue;
        }
        tokio::task::spawn_local(async move {
            if let Ok(mut outbound) = TcpStream::connect(wiremock).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

struct Answer(Shared);

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let new_api = request.method.as_str() == "POST";
        let body: Value = request.body_json().unwrap_or(Value::Null);
        let (radius, lat, lng, count) = if new_api {
            let circle = &body["locationRestriction"]["circle"];
            let radius = circle["radius"].as_f64().map(|r| r.to_string());
            let center = &circle["center"];
            let count = body["maxResultCount"].as_u64().unwrap_or(20) as usize;
            (
                radius,
                center["latitude"].as_f64(),
                center["longitude"].as_f64(),
                count,
            )
        } else {
            let query = |key: &str| {
                request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.into_owned())
            };
            let location = query("location").unwrap_or_default();
            let mut parts = location.split(',').map(|p| p.trim().parse::<f64>().ok());
            (
                query("radius"),
                parts.next().flatten(),
                parts.next().flatten(),
                20,
            )
        };
        let behaviour = {
            let mut state = lock(&self.0);
            state.touched_ns.push(RealClock::posix_ns());
            state.radii_m.push(radius.unwrap_or_else(|| "<none>".into()));
            state.behaviour.clone().unwrap_or(Behaviour::Ok)
        };
        let (lat, lng) = (lat.unwrap_or(0.0), lng.unwrap_or(0.0));
        let healthy = || {
            let legacy = nearby_answer(lat, lng);
            let answer = if new_api {
                new_shape(&legacy, count)
            } else {
                legacy
            };
            ResponseTemplate::new(200).set_body_json(answer)
        };
        match behaviour {
            // An echo of the key is never asked of a real herd (steps.rs).
            Behaviour::Ok | Behaviour::Down | Behaviour::EchoKey => healthy(),
            Behaviour::Slow { delay_ms } => healthy().set_delay(Duration::from_millis(delay_ms)),
            Behaviour::Status(status) if !new_api => ResponseTemplate::new(200).set_body_json(json!({
                "html_attributions": [], "results": [], "status": status,
                "error_message": format!("The stand-in answers {status}."),
            })),
            Behaviour::Status(status) => ResponseTemplate::new(429).set_body_json(
                json!({"error": {"code": 429, "message": status, "status": "RESOURCE_EXHAUSTED"}}),
            ),
            Behaviour::Http(code) => ResponseTemplate::new(code).set_body_string("stand-in HTTP error"),
        }
    }
}

/// A legacy answer as Places API (New) would put it, cut to `count` places.
fn new_shape(legacy: &Value, count: usize) -> Value {
    let places: Vec<Value> = legacy["results"]
        .as_array()
        .into_iter()
        .flatten()
        .take(count)
        .map(|r| {
            let at = &r["geometry"]["location"];
            json!({
                "id": r["place_id"], "displayName": {"text": r["name"]},
                "formattedAddress": r["vicinity"],
                "location": {"latitude": at["lat"], "longitude": at["lng"]},
            })
        })
        .collect();
    json!({ "places": places })
}
