//! The HTTP transport seam: back ends speak to Google through
//! [`HttpClient`], so the simulator can put its own transport (simulated
//! network, simulated time) where production uses reqwest.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use thiserror::Error;

/// One request to Places, body included. The seam speaks the `http`
/// crate's types, so any client (reqwest, a simulated one) can carry it.
pub type HttpRequest = http::Request<Vec<u8>>;

/// Status, headers and the whole body.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Why no response came back. The texts never carry the URL (the legacy
/// URL holds the API key); back ends scrub their whole answer all the same.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HttpError {
    #[error("timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("{0}")]
    Other(String),
}

pub type HttpFuture<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'a>>;

/// Sends one request and returns the whole response. An implementation must
/// bound every request in time (answer [`HttpError::Timeout`]): the back
/// ends rely on it so that a silent Places never holds a WHATSAT forever.
pub trait HttpClient: Send + Sync + 'static {
    fn send<'a>(&'a self, req: HttpRequest) -> HttpFuture<'a>;
}

/// Places answers are tens of kilobytes; anything far larger is not a
/// Places answer, and reading it whole would let a bad peer fill memory.
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// The production transport: reqwest over rustls.
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    /// `timeout` bounds both connecting and the whole exchange, last body
    /// byte included.
    pub fn new(timeout: Duration) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            // Google's APIs do not redirect; following one would carry the
            // key (query or header) to wherever the redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Other(describe(e)))?;
        Ok(Self { client })
    }

    async fn exchange(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let req = reqwest::Request::try_from(req).map_err(|e| HttpError::Other(describe(e)))?;
        let mut response = self.client.execute(req).await.map_err(classify)?;
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::Other(format!(
                    "response body larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        answer.body(body).map_err(|e| HttpError::Other(e.to_string()))
    }
}

impl HttpClient for ReqwestClient {
    fn send<'a>(&'a self, req: HttpRequest) -> HttpFuture<'a> {
        Box::pin(self.exchange(req))
    }
}

fn classify(error: reqwest::Error) -> HttpError {
    if error.is_timeout() {
        HttpError::Timeout
    } else if error.is_connect() {
        HttpError::Connect(describe(error))
    } else {
        HttpError::Other(describe(error))
    }
}

/// reqwest's own text is terse ("error sending request"); the cause chain
/// says what actually went wrong. The URL is stripped first.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
