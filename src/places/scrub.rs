//! Keeps the API key out of every text a client or a log could see.

const REDACTED: &str = "<redacted>";

/// Replaces every occurrence of `key`, as given and as it would appear
/// percent-encoded in a URL query, with `<redacted>`.
pub fn scrub(text: &str, key: &str) -> String {
    if key.is_empty() {
        return text.to_string();
    }
    let mut text = text.replace(key, REDACTED);
    let encoded = percent_encode(key);
    if encoded != key {
        text = text.replace(&encoded, REDACTED);
    }
    text
}

/// RFC 3986 query encoding: unreserved characters stay, every other byte
/// becomes `%XX`. Google keys are plain `[A-Za-z0-9_-]`, so this is normally
/// the identity, but a key pasted with a stray character must still reach
/// Google (and be scrubbed) in one exact form.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn percent_encoding_keeps_unreserved_characters() {
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(percent_encode("a b&c=é"), "a%20b%26c%3D%C3%A9");
    }
}
