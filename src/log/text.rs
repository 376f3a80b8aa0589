//! Byte-level pieces of a log line, appended to a reused buffer without
//! going through `core::fmt`: escaped text, numbers, the UTC timestamp.

use std::io::Write as _;

use chrono::{DateTime, Datelike, Timelike};

/// Appends `bytes` escaped for a quoted value: printable ASCII other than
/// `"` and `\` as itself; tab, CR and LF as `\t`, `\r`, `\n`; `"` and `\`
/// as `\"` and `\\`; every other byte as `\xNN`. The result holds no line
/// break and no bare quote, so a value can neither end its line nor its
/// quotes early. (std's `escape_ascii` also escapes `'`, and goes through
/// `core::fmt` a byte at a time even when nothing needs escaping.)
pub(crate) fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    escape_with(out, bytes, |b| b != b'"' && b != b'\\');
}

/// Like `escape_into`, for values written without quotes (names and
/// addresses): a space becomes `\x20` too, so the value stays one field.
pub(crate) fn escape_token_into(out: &mut Vec<u8>, bytes: &[u8]) {
    escape_with(out, bytes, |b| b != b'"' && b != b'\\' && b != b' ');
}

/// Copies the longest run of bytes that need no escape in one go (for
/// the usual line that is all of it), then escapes one byte, and repeats.
#[inline(always)]
fn escape_with(out: &mut Vec<u8>, bytes: &[u8], keep: impl Fn(u8) -> bool) {
    let mut rest = bytes;
    loop {
        let clean = rest
            .iter()
            .position(|&b| !(b.is_ascii_graphic() || b == b' ') || !keep(b))
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..clean]);
        let Some((&byte, tail)) = rest[clean..].split_first() else {
            return;
        };
        match byte {
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'x', HEX[(byte >> 4) as usize], HEX[(byte & 15) as usize]]);
            }
        }
        rest = tail;
    }
}

/// Appends a number in decimal.
pub(crate) fn number(out: &mut Vec<u8>, value: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends the low `width` decimal digits of `value`, zero-padded.
pub(crate) fn padded(out: &mut Vec<u8>, mut value: u32, width: usize) {
    let mut digits = [b'0'; 10];
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// RFC 3339 UTC timestamps with microseconds (`2018-03-02T20:52:14.918963Z`).
/// The date and time of day change once a second, so they are formatted
/// once a second and copied for every line in between.
#[derive(Default)]
pub(crate) struct Stamp {
    second: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS` of `second`.
    text: Vec<u8>,
}

impl Stamp {
    pub(crate) fn write(&mut self, out: &mut Vec<u8>, unix_nanos: i128) {
        // 64-bit division while the time fits (until 2262): 128-bit
        // division is a library call.
        let (second, nanos) = match i64::try_from(unix_nanos) {
            Ok(n) => (n.div_euclid(1_000_000_000), n.rem_euclid(1_000_000_000) as u32),
            Err(_) => (
                unix_nanos.div_euclid(1_000_000_000) as i64,
                unix_nanos.rem_euclid(1_000_000_000) as u32,
            ),
        };
        if self.second != Some(second) {
            self.second = Some(second);
            self.text.clear();
            let _ = match DateTime::from_timestamp(second, 0) {
                Some(t) => write!(
                    self.text,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    t.year(),
                    t.month(),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                ),
                // Hundreds of thousands of years away: seconds since the epoch.
                None => write!(self.text, "@{second}"),
            };
        }
        out.extend_from_slice(&self.text);
        out.push(b'.');
        padded(out, nanos / 1_000, 6);
        out.push(b'Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        escape_into(&mut out, bytes);
        String::from_utf8(out).expect("escaped text is ASCII")
    }

    #[test]
    fn escapes_what_could_break_a_line_or_its_quotes() {
        assert_eq!(escaped(b"IAMAT kiwi +1+2 3.5"), "IAMAT kiwi +1+2 3.5");
        assert_eq!(escaped(b"a\nb\r\tc"), r"a\nb\r\tc");
        assert_eq!(escaped(br#"say "hi" \o/"#), r#"say \"hi\" \\o/"#);
        assert_eq!(
            escaped(b"\x00\x1b[31m\x7f\xc3\xbc'"),
            r"\x00\x1b[31m\x7f\xc3\xbc'"
        );
    }

    #[test]
    fn tokens_escape_spaces_too() {
        let mut out = Vec::new();
        escape_token_into(&mut out, b"two words\n");
        assert_eq!(out, br"two\x20words\n");
    }

    #[test]
    fn stamps_are_utc_with_microseconds() {
        let mut stamp = Stamp::default();
        let mut out = Vec::new();
        stamp.write(&mut out, 1_520_023_934_918_963_997);
        out.push(b' ');
        // The same second again (from the cache), then the next day.
        stamp.write(&mut out, 1_520_023_934_000_000_999);
        out.push(b' ');
        stamp.write(&mut out, 1_520_023_934_000_000_000 + 86_400_000_000_000);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2018-03-02T20:52:14.918963Z 2018-03-02T20:52:14.000000Z 2018-03-03T20:52:14.000000Z"
        );
        let mut before_1970 = Vec::new();
        stamp.write(&mut before_1970, -1);
        assert_eq!(before_1970, b"1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn padding_keeps_the_low_digits() {
        let mut out = Vec::new();
        padded(&mut out, 42, 6);
        padded(&mut out, 999_999_999, 9);
        number(&mut out, 0u64);
        assert_eq!(out, b"0000429999999990");
    }
}
