//! Choosing and building the back end the binary runs with.

use std::sync::Arc;

use strum::VariantNames;
use thiserror::Error;

use super::fake::FakePlaces;
use super::transport::HttpClient;
use super::{LegacyPlaces, NewPlaces, Places};

/// Where the key comes from: an environment variable, never a flag (a flag
/// shows in `ps` and in shell history) and never the herd file.
pub const API_KEY_ENV: &str = "GOOGLE_PLACES_API_KEY";

/// A Places back end as `--places` names it: `fake`, `google`, `google-legacy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::VariantNames)]
#[strum(
    serialize_all = "kebab-case",
    parse_err_ty = PlacesSetupError,
    parse_err_fn = PlacesSetupError::unknown_backend
)]
pub enum Backend {
    /// The offline fake: no network, no key.
    Fake,
    /// Places API (New).
    Google,
    /// The legacy Nearby Search.
    GoogleLegacy,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlacesSetupError {
    #[error(
        "the {0} Places back end needs an API key: set {API_KEY_ENV}, or use the offline back end `fake`"
    )]
    MissingKey(Backend),
    #[error("unknown Places back end {0:?}: expected one of {names}", names = Backend::VARIANTS.join(", "))]
    UnknownBackend(String),
    #[error("Places base URL {0:?} must be an http:// or https:// URL")]
    BadBaseUrl(String),
}

impl PlacesSetupError {
    fn unknown_backend(name: &str) -> Self {
        Self::UnknownBackend(name.to_string())
    }
}

/// Builds the chosen back end. `base_url` replaces Google's address (tests
/// point it at a local mock); an empty key counts as none.
pub fn build(
    backend: Backend,
    key: Option<String>,
    base_url: Option<String>,
    http: Arc<dyn HttpClient>,
) -> Result<Arc<dyn Places>, PlacesSetupError> {
    if backend == Backend::Fake {
        return Ok(Arc::new(FakePlaces));
    }
    if let Some(url) = &base_url {
        let uri = url.parse::<http::Uri>();
        let web = uri.is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if !web || url.contains('?') {
            return Err(PlacesSetupError::BadBaseUrl(url.clone()));
        }
    }
    let key = key
        .filter(|k| !k.is_empty())
        .ok_or(PlacesSetupError::MissingKey(backend))?;
    Ok(match backend {
        Backend::Google => Arc::new(NewPlaces::new(http, base_url, key)),
        Backend::GoogleLegacy => Arc::new(LegacyPlaces::new(http, base_url, key)),
        Backend::Fake => unreachable!("handled above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::places::transport::{HttpFuture, HttpRequest};

    struct NoNetwork;

    impl HttpClient for NoNetwork {
        fn send<'a>(&'a self, _req: HttpRequest) -> HttpFuture<'a> {
            unreachable!("setup sends nothing")
        }
    }

    fn http() -> Arc<dyn HttpClient> {
        Arc::new(NoNetwork)
    }

    #[test]
    fn google_back_ends_need_a_key() {
        for backend in [Backend::Google, Backend::GoogleLegacy] {
            let err = build(backend, None, None, http()).err().unwrap();
            assert_eq!(err, PlacesSetupError::MissingKey(backend));
            assert!(err.to_string().contains(API_KEY_ENV), "{err}");
            let err = build(backend, Some(String::new()), None, http()).err().unwrap();
            assert_eq!(err, PlacesSetupError::MissingKey(backend));
            assert!(build(backend, Some("k".into()), None, http()).is_ok());
        }
    }

    #[test]
    fn the_fake_needs_nothing() {
        assert!(build(Backend::Fake, None, Some("not a url".into()), http()).is_ok());
    }

    #[test]
    fn base_urls_must_be_http() {
        for bad in [
            "places.example",
            "ftp://places.example",
            "http://",
            "http://a b",
            "http://x/?q=1",
        ] {
            let err = build(Backend::Google, Some("k".into()), Some(bad.into()), http()).err();
            assert_eq!(err, Some(PlacesSetupError::BadBaseUrl(bad.into())), "{bad}");
        }
        for good in ["http://127.0.0.1:8080", "https://proxy.example/places/"] {
            assert!(
                build(Backend::Google, Some("k".into()), Some(good.into()), http()).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(Backend::VARIANTS, ["fake", "google", "google-legacy"]);
        for name in Backend::VARIANTS {
            assert_eq!(name.parse::<Backend>().unwrap().to_string(), *name);
        }
        let err = "legacy".parse::<Backend>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown Places back end \"legacy\": expected one of fake, google, google-legacy"
        );
    }
}
