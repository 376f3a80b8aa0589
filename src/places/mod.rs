//! Google Places behind one trait, with three back ends: Places API (New),
//! the legacy Nearby Search, and an offline fake. Every back end answers in
//! the legacy response shape, so clients see one format whatever is behind.

mod failure;
pub mod fake;
mod google;
pub mod legacy;
pub mod new_api;
mod scrub;
mod setup;
mod transport;

/// The `http` crate the [`HttpClient`] seam speaks, for implementations
/// of it to build requests and responses with.
pub use http;

pub use fake::FakePlaces;
pub use google::{Google, GoogleApi};
pub use scrub::{scrub, scrub_answer};
pub use setup::{build, Backend, PlacesSetupError, API_KEY_ENV};
pub use transport::{HttpClient, HttpError, HttpFuture, HttpRequest, HttpResponse, ReqwestClient};

/// The legacy Nearby Search.
pub type LegacyPlaces = Google<legacy::LegacyApi>;
/// Places API (New).
pub type NewPlaces = Google<new_api::NewApi>;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::protocol::Radius;

/// One Nearby Search: where, how far, and how many results at most.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyRequest {
    pub latitude: f64,
    pub longitude: f64,
    pub radius: Radius,
    /// 1 to 20.
    pub bound: u8,
}

pub type PlacesFuture<'a> = Pin<Box<dyn Future<Output = Value> + Send + 'a>>;

/// A Places back end. Never fails: every failure (timeout, HTTP error,
/// error status, malformed answer) comes back as a legacy-shaped JSON object
/// with an error `status` and an `error_message`, see [`error_response`].
pub trait Places: Send + Sync + 'static {
    fn nearby<'a>(&'a self, request: &'a NearbyRequest) -> PlacesFuture<'a>;
}

/// The legacy-shaped answer for a failure: no results, a legacy `status`
/// (`UNKNOWN_ERROR`, `OVER_QUERY_LIMIT`, `REQUEST_DENIED`, `INVALID_REQUEST`)
/// and a human-readable `error_message` that never contains the API key.
pub fn error_response(status: &str, message: &str) -> Value {
    serde_json::json!({
        "html_attributions": [],
        "results": [],
        "status": status,
        "error_message": message,
    })
}
