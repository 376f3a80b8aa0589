//! One back end for both Google APIs: send the request, bound it, map HTTP
//! and transport failures, scrub the key from the whole answer. What the
//! two generations do differently (how a search is asked, how an answer
//! reads) is a [`GoogleApi`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use http::StatusCode;
use serde_json::Value;

use super::failure;
use super::scrub::scrub_answer;
use super::transport::{HttpClient, HttpError, HttpRequest};
use super::{NearbyRequest, Places, PlacesFuture};
use crate::bugs::Bugs;

/// What one generation of the Places API does its own way.
pub trait GoogleApi: Send + Sync + 'static {
    /// Google's address; tests point the back end at a mock instead.
    const DEFAULT_BASE_URL: &'static str;

    /// The whole request for one search. It holds the key, so never log it.
    fn request(base_url: &str, key: &str, search: &NearbyRequest) -> http::Result<HttpRequest>;

    /// The client's answer, in the legacy shape, from an HTTP 200 body.
    fn translate(body: &[u8], bound: u8) -> Value;
}

/// A Google back end; [`super::LegacyPlaces`] and [`super::NewPlaces`] name
/// the two there are.
pub struct Google<A> {
    http: Arc<dyn HttpClient>,
    base_url: String,
    key: String,
    bugs: Bugs,
    api: PhantomData<A>,
}

impl<A: GoogleApi> Google<A> {
    /// `base_url` replaces Google's address (a mock, a proxy).
    pub fn new(http: Arc<dyn HttpClient>, base_url: Option<String>, key: String) -> Self {
        let base_url = base_url.unwrap_or_else(|| A::DEFAULT_BASE_URL.to_string());
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            bugs: Bugs::default(),
            api: PhantomData,
        }
    }

    /// The same back end with a bug of the catalogue (the simulator's).
    pub fn with_bugs(self, bugs: Bugs) -> Self {
        Self { bugs, ..self }
    }

    async fn search(&self, search: &NearbyRequest) -> Value {
        let mut answer = match A::request(&self.base_url, &self.key, search) {
            // A key or base URL that cannot go into a request at all.
            Err(e) => failure::transport(&HttpError::Other(e.to_string())),
            Ok(request) => match self.http.send(request).await {
                Ok(response) if response.status() == StatusCode::OK => {
                    A::translate(response.body(), search.bound)
                }
                Ok(response) => failure::http_error(response.status().as_u16(), response.body()),
                Err(error) => failure::transport(&error),
            },
        };
        // Whatever Google or the network said, every part of it, the key
        // goes no further.
        if !crate::bug!(self.bugs, KeyEcho) {
            scrub_answer(&mut answer, &self.key);
        }
        answer
    }
}

impl<A: GoogleApi> Places for Google<A> {
    fn nearby<'a>(&'a self, request: &'a NearbyRequest) -> PlacesFuture<'a> {
        Box::pin(self.search(request))
    }
}

/// Never shows the key, so a `{:?}` in a log line is safe.
impl<A> fmt::Debug for Google<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Google")
            .field("api", &std::any::type_name::<A>())
            .field("base_url", &self.base_url)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::transport::HttpFuture;
    use crate::places::{LegacyPlaces, NewPlaces};
    use crate::protocol::Radius;

    /// Answers every request with one canned response, or fails it.
    struct Canned(Result<(u16, String), HttpError>);

    impl HttpClient for Canned {
        fn send<'a>(&'a self, _req: HttpRequest) -> HttpFuture<'a> {
            let answer = self.0.clone().map(|(status, body)| {
                http::Response::builder()
                    .status(status)
                    .body(body.into_bytes())
                    .unwrap()
            });
            Box::pin(std::future::ready(answer))
        }
    }

    const KEY: &str = "SECRET-key";

    fn search() -> NearbyRequest {
        NearbyRequest {
            latitude: 1.0,
            longitude: 2.0,
            radius: Radius::parse("1").unwrap(),
            bound: 5,
        }
    }

    async fn both(reply: Result<(u16, String), HttpError>) -> [Value; 2] {
        let http = || -> Arc<dyn HttpClient> { Arc::new(Canned(reply.clone())) };
        let legacy = LegacyPlaces::new(http(), None, KEY.into());
        let new = NewPlaces::new(http(), None, KEY.into());
        [legacy.nearby(&search()).await, new.nearby(&search()).await]
    }

    #[tokio::test]
    async fn http_errors_map_the_same_for_both_apis() {
        for (code, status) in [
            (400, "INVALID_REQUEST"),
            (403, "REQUEST_DENIED"),
            (429, "OVER_QUERY_LIMIT"),
        ] {
            for answer in both(Ok((code, "{}".into()))).await {
                assert_eq!(answer["status"], status, "{answer}");
            }
        }
    }

    #[tokio::test]
    async fn failures_are_scrubbed_like_answers() {
        for answer in both(Err(HttpError::Other(format!("near key={KEY}")))).await {
            assert_eq!(
                answer["error_message"],
                "Places request failed: near key=<redacted>"
            );
        }
        let body = format!(r#"{{"error":{{"code":403,"message":"bad key {KEY}"}}}}"#);
        for answer in both(Ok((403, body))).await {
            assert_eq!(answer["error_message"], "bad key <redacted>");
        }
    }

    #[tokio::test]
    async fn a_key_that_cannot_be_sent_is_an_error_answer_without_it() {
        let http: Arc<dyn HttpClient> = Arc::new(Canned(Ok((200, "{}".into()))));
        let places = NewPlaces::new(http, None, "bad\nkey".into());
        let answer = places.nearby(&search()).await;
        assert_eq!(answer["status"], "UNKNOWN_ERROR");
        assert!(!answer.to_string().contains("bad\\nkey"), "{answer}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let http: Arc<dyn HttpClient> = Arc::new(Canned(Ok((200, "{}".into()))));
        let places = LegacyPlaces::new(http, Some("http://mock/".into()), KEY.into());
        let shown = format!("{places:?}");
        assert!(!shown.contains(KEY) && shown.contains("http://mock"), "{shown}");
    }
}
