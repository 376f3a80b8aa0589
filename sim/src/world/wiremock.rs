//! Google Places stood in for by wiremock, reached by the server's own
//! legacy back end (`herd::places::LegacyPlaces`) through a transport that
//! keeps the wall clock out of the run.
//!
//! wiremock serves real HTTP on its own thread. A request is made on a
//! helper thread with its own small runtime and joined before returning,
//! so the simulated clock stands still during the exchange (the one
//! thread besides the simulation's, and it never touches simulated
//! state); the time Places takes is then a simulated sleep.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use herd::bugs::{Bug, Bugs};
use herd::places::{
    http, HttpClient, HttpError, HttpFuture, HttpRequest, HttpResponse, LegacyPlaces, Places, ReqwestClient,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::places::{nearby_answer, Behaviour, PlacesSwitch};

const NEARBY_PATH: &str = "/maps/api/place/nearbysearch/json";
/// How long a healthy Places takes to answer, in simulated time.
const PLACES_LATENCY: Duration = Duration::from_millis(20);
/// The key the back end sends; wiremock does not check it, and no client
/// may ever see it.
pub const SIM_KEY: &str = "sim-key-3f9a";
/// Bounds the real exchange with the local wiremock server; never reached
/// in practice, and not simulated time.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(30);

/// Runs `f` on a helper thread with its own runtime and waits for it.
fn on_helper<T: Send>(f: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a helper runtime builds");
                rt.block_on(f)
            })
            .join()
            .expect("the helper thread does not panic")
    })
}

/// The wiremock server for one run, and the switch its mounts follow.
pub struct WiremockPlaces {
    server: MockServer,
    switch: PlacesSwitch,
    radii: Radii,
}

/// The `radius` of every request the servers made, in order.
type Radii = Arc<std::sync::Mutex<Vec<String>>>;

impl WiremockPlaces {
    pub fn start(switch: PlacesSwitch) -> Self {
        let server = on_helper(async {
            let server = MockServer::builder().start().await;
            // One exchange makes sure wiremock has accepted its own
            // readiness probes before the simulation starts.
            let _ = reqwest_exchange(format!("{}/ready", server.uri())).await;
            server
        });
        let places = Self {
            server,
            switch,
            radii: Radii::default(),
        };
        places.mount(&Behaviour::Ok);
        places
    }

    /// Replaces the mounted answer with the one `behaviour` calls for.
    pub fn set(&self, behaviour: Behaviour) {
        self.mount(&behaviour);
        self.switch.set(behaviour);
    }

    fn mount(&self, behaviour: &Behaviour) {
        let mock = match behaviour.clone() {
            // Down and slow are the transport's business; what Places
            // would say is the healthy answer.
            Behaviour::Ok | Behaviour::Down | Behaviour::Slow { .. } => Mock::given(method("GET"))
                .and(path(NEARBY_PATH))
                .respond_with(healthy),
            Behaviour::EchoKey => Mock::given(method("GET"))
                .and(path(NEARBY_PATH))
                .respond_with(echo_key),
            Behaviour::Status(status) => Mock::given(method("GET")).and(path(NEARBY_PATH)).respond_with(
                ResponseTemplate::new(200).set_body_json(json!({
                    "html_attributions": [],
                    "results": [],
                    "status": status,
                    "error_message": format!("Simulated Places answers {status}."),
                })),
            ),
            Behaviour::Http(code) => Mock::given(method("GET"))
                .and(path(NEARBY_PATH))
                .respond_with(ResponseTemplate::new(code).set_body_string("simulated HTTP error")),
        };
        let server = &self.server;
        on_helper(async {
            server.reset().await;
            server.register(mock).await;
        });
    }

    /// The `radius` (metres, as sent) of every request made since the last
    /// call.
    pub fn take_radii(&self) -> Vec<String> {
        std::mem::take(&mut *self.radii.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The server's legacy back end, talking to this wiremock server.
    pub fn backend(&self, timeout: Duration, bug: Option<Bug>) -> Arc<dyn Places> {
        let http = Arc::new(SimHttp {
            switch: self.switch.clone(),
            timeout,
            radii: self.radii.clone(),
        });
        Arc::new(
            LegacyPlaces::new(http, Some(self.server.uri()), SIM_KEY.to_string()).with_bugs(Bugs::with(bug)),
        )
    }
}

/// A healthy answer for the request's `location=LAT,LNG`.
fn healthy(request: &Request) -> ResponseTemplate {
    let location = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let mut parts = location.split(',').map(|p| p.parse::<f64>().unwrap_or(0.0));
    let (lat, lng) = (parts.next().unwrap_or(0.0), parts.next().unwrap_or(0.0));
    ResponseTemplate::new(200).set_body_json(nearby_answer(lat, lng))
}

/// A healthy answer that quotes the request, key and all, as some
/// proxies and error pages do.
fn echo_key(request: &Request) -> ResponseTemplate {
    let mut answer = nearby_answer(0.0, 0.0);
    answer["html_attributions"] = json!([format!("Results for {}", request.url)]);
    ResponseTemplate::new(200).set_body_json(answer)
}

async fn reqwest_exchange(url: String) -> Result<HttpResponse, HttpError> {
    let client = ReqwestClient::new(EXCHANGE_LIMIT)?;
    let request = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| HttpError::Other(e.to_string()))?;
    client.send(request).await
}

/// The transport the back end uses inside the simulation.
struct SimHttp {
    switch: PlacesSwitch,
    /// Like a real client's deadline, in simulated time.
    timeout: Duration,
    radii: Radii,
}

impl HttpClient for SimHttp {
    fn send<'a>(&'a self, req: HttpRequest) -> HttpFuture<'a> {
        Box::pin(async move {
            // Whatever Places does next, the request was made as it was.
            let radius = req
                .uri()
                .query()
                .unwrap_or_default()
                .split('&')
                .find_map(|pair| pair.strip_prefix("radius="))
                .unwrap_or("<none>")
                .to_string();
            self.radii.lock().unwrap_or_else(|p| p.into_inner()).push(radius);
            let behaviour = self.switch.get();
            let delay = match behaviour {
                Behaviour::Down => {
                    tokio::time::sleep(PLACES_LATENCY).await;
                    return Err(HttpError::Connect("connection refused".into()));
                }
                Behaviour::Slow { delay_ms } => PLACES_LATENCY + Duration::from_millis(delay_ms),
                _ => PLACES_LATENCY,
            };
            if delay > self.timeout {
                tokio::time::sleep(self.timeout).await;
                return Err(HttpError::Timeout);
            }
            let response = on_helper(async move {
                let client = ReqwestClient::new(EXCHANGE_LIMIT)?;
                client.send(req).await
            });
            tokio::time::sleep(delay).await;
            response
        })
    }
}
