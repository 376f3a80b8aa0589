//! Failure answers shared by the Google back ends, so both generations
//! report the same trouble with the same legacy `status`. The back end
//! scrubs the key from them with the rest of its answer.

use serde_json::Value;

use super::error_response;
use super::transport::HttpError;

pub const MALFORMED_MESSAGE: &str = "Places answered with malformed JSON";

/// The legacy `status` closest to an HTTP error code. The legacy API never
/// uses HTTP codes for these, so this follows what the New API means by
/// them.
pub fn status_for_http(code: u16) -> &'static str {
    match code {
        400 => "INVALID_REQUEST",
        401 | 403 => "REQUEST_DENIED",
        429 => "OVER_QUERY_LIMIT",
        _ => "UNKNOWN_ERROR",
    }
}

pub fn malformed() -> Value {
    error_response("UNKNOWN_ERROR", MALFORMED_MESSAGE)
}

pub fn transport(error: &HttpError) -> Value {
    let message = match error {
        HttpError::Timeout => "Places did not answer in time".to_string(),
        HttpError::Connect(why) => format!("could not reach Places: {why}"),
        HttpError::Other(why) => format!("Places request failed: {why}"),
    };
    error_response("UNKNOWN_ERROR", &message)
}

/// An HTTP error code, with Google's own message when the body has one
/// (`error.message` from the New API, `error_message` from the legacy one).
pub fn http_error(code: u16, body: &[u8]) -> Value {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let google_message = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("error_message"))
            .and_then(Value::as_str)
    });
    let message = match google_message {
        Some(text) if !text.is_empty() => text.to_string(),
        _ => format!("Places answered HTTP {code}"),
    };
    error_response(status_for_http(code), &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_http_codes_to_legacy_statuses() {
        assert_eq!(status_for_http(400), "INVALID_REQUEST");
        assert_eq!(status_for_http(401), "REQUEST_DENIED");
        assert_eq!(status_for_http(403), "REQUEST_DENIED");
        assert_eq!(status_for_http(429), "OVER_QUERY_LIMIT");
        assert_eq!(status_for_http(500), "UNKNOWN_ERROR");
        assert_eq!(status_for_http(503), "UNKNOWN_ERROR");
        assert_eq!(status_for_http(404), "UNKNOWN_ERROR");
    }

    #[test]
    fn http_error_uses_googles_message() {
        let body = br#"{"error":{"code":403,"message":"API key is not valid","status":"PERMISSION_DENIED"}}"#;
        let answer = http_error(403, body);
        assert_eq!(answer["status"], "REQUEST_DENIED");
        assert_eq!(answer["error_message"], "API key is not valid");
        assert_eq!(answer["results"], serde_json::json!([]));
        let legacy = br#"{"error_message":"denied","status":"REQUEST_DENIED"}"#;
        assert_eq!(http_error(403, legacy)["error_message"], "denied");
    }

    #[test]
    fn http_error_without_a_json_body_names_the_code() {
        let answer = http_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(answer["status"], "UNKNOWN_ERROR");
        assert_eq!(answer["error_message"], "Places answered HTTP 502");
    }

    #[test]
    fn transport_errors_are_unknown_errors() {
        let answer = transport(&HttpError::Other("bad thing".into()));
        assert_eq!(answer["status"], "UNKNOWN_ERROR");
        assert_eq!(answer["error_message"], "Places request failed: bad thing");
        let answer = transport(&HttpError::Timeout);
        assert_eq!(answer["error_message"], "Places did not answer in time");
    }
}
