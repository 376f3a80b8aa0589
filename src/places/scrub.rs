//! Keeps the API key out of every text a client or a log could see, and
//! encodes it (and every other query value) one exact way, so that the
//! encoded form can be scrubbed too.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

const REDACTED: &str = "<redacted>";

/// RFC 3986 query values: unreserved characters stay, every other byte
/// becomes `%XX`. Google keys are plain `[A-Za-z0-9_-]`, so the key is
/// normally sent as it is, but a key pasted with a stray character must
/// still reach Google, and be scrubbed, in one exact form.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `name=value&...`, each value percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, QUERY_VALUE)))
        .collect();
    pairs.join("&")
}

/// Replaces every occurrence of `key`, as given and as it appears
/// percent-encoded in a query, with `<redacted>`.
pub fn scrub(text: &str, key: &str) -> String {
    Forms::of(key).redact(text).unwrap_or_else(|| text.to_string())
}

/// Scrubs a whole answer: every string and every object key, however deep,
/// and a number whose digits are the key. Done on the parsed answer, so a
/// key that Google's JSON spelt with escapes (`\u0041`) is caught too.
pub fn scrub_answer(answer: &mut Value, key: &str) {
    Forms::of(key).scrub(answer);
}

/// The texts a key can appear as: as given, and percent-encoded.
struct Forms {
    forms: Vec<String>,
    /// Whether a JSON number could spell the key.
    numeric: bool,
}

impl Forms {
    fn of(key: &str) -> Self {
        let mut forms = Vec::new();
        if !key.is_empty() {
            forms.push(key.to_string());
            let encoded = utf8_percent_encode(key, QUERY_VALUE).to_string();
            if encoded != key {
                forms.push(encoded);
            }
        }
        let numeric = key.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
        Self { forms, numeric }
    }

    /// `text` scrubbed, or `None` when it holds no form of the key.
    fn redact(&self, text: &str) -> Option<String> {
        if !self.forms.iter().any(|form| text.contains(form.as_str())) {
            return None;
        }
        Some(
            self.forms
                .iter()
                .fold(text.to_string(), |t, form| t.replace(form.as_str(), REDACTED)),
        )
    }

    fn scrub(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Some(clean) = self.redact(text) {
                    *text = clean;
                }
            }
            Value::Number(n) if self.numeric && self.redact(&n.to_string()).is_some() => {
                *value = Value::String(REDACTED.into());
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub(item)),
            Value::Object(fields) => {
                if fields.keys().any(|name| self.redact(name).is_some()) {
                    *fields = std::mem::take(fields)
                        .into_iter()
                        .map(|(name, value)| (self.redact(&name).unwrap_or(name), value))
                        .collect();
                }
                fields.values_mut().for_each(|field| self.scrub(field));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_every_occurrence_of_the_key() {
        let key = "AIzaSyD-secret_123";
        let text = format!("The provided API key is invalid: {key} (key={key})");
        assert_eq!(
            scrub(&text, key),
            "The provided API key is invalid: <redacted> (key=<redacted>)"
        );
    }

    #[test]
    fn replaces_the_percent_encoded_key() {
        let key = "abc def/+";
        let text = "GET /json?key=abc%20def%2F%2B failed";
        assert_eq!(scrub(text, key), "GET /json?key=<redacted> failed");
    }

    #[test]
    fn an_empty_key_changes_nothing() {
        assert_eq!(scrub("nothing secret", ""), "nothing secret");
    }

    #[test]
    fn text_without_the_key_is_unchanged() {
        assert_eq!(scrub("over quota", "AIzaKEY"), "over quota");
    }

    #[test]
    fn query_values_keep_only_unreserved_characters() {
        assert_eq!(query(&[("a", "AZaz09-._~"), ("b", "x")]), "a=AZaz09-._~&b=x");
        assert_eq!(query(&[("key", "a b&c=é,")]), "key=a%20b%26c%3D%C3%A9%2C");
    }

    #[test]
    fn a_whole_answer_is_scrubbed_keys_and_all() {
        let key = "K3Y/1";
        let mut answer = json!({
            "results": [{"name": "K3Y/1 Cafe", "vicinity": ["deep", {"x": "key=K3Y%2F1"}]}],
            "K3Y/1": "as a field name",
            "n": 7,
            "status": "OK",
        });
        scrub_answer(&mut answer, key);
        assert_eq!(
            answer,
            json!({
                "results": [{"name": "<redacted> Cafe", "vicinity": ["deep", {"x": "key=<redacted>"}]}],
                "<redacted>": "as a field name",
                "n": 7,
                "status": "OK",
            })
        );
        let keys: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["results", "<redacted>", "n", "status"], "order kept");
    }

    #[test]
    fn a_key_of_digits_is_scrubbed_from_numbers() {
        let mut answer = json!({"user_ratings_total": 9_123_456_789u64, "rating": 4.5});
        scrub_answer(&mut answer, "123456");
        assert_eq!(answer, json!({"user_ratings_total": "<redacted>", "rating": 4.5}));
    }
}
