//! Pure parsing and formatting of client lines and inter-server messages.
//! No IO here: everything is a function of its input, so it can be
//! property-tested and snapshotted.

mod client;
mod decimal;
mod limits;
mod location;
mod peer;
mod time;
mod update;

pub use client::{parse_client_line, whatsat_reply, ClientCommand, ParseError};
pub use decimal::Radius;
pub use limits::ClientLimits;
pub use location::Location;
pub use peer::{PeerMessage, MAC_HEX, NONCE_HEX, PEER_VERB};
pub use time::{ClientTime, Skew};
pub use update::{verbatim, Update};

/// SPEC: fields are separated by space, tab, CR, LF, form feed or vertical
/// tab. `u8::is_ascii_whitespace` leaves out vertical tab, hence our own.
pub fn is_field_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Splits a line into its white-space separated fields.
pub fn fields(line: &str) -> impl Iterator<Item = &str> + Clone {
    Fields(line)
}

/// Scans bytes, not chars: every separator is ASCII, and a UTF-8
/// sequence never holds an ASCII byte, so each field is still whole text.
#[derive(Clone)]
struct Fields<'a>(&'a str);

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.0.as_bytes();
        let start = bytes.iter().position(|&b| !is_field_space(b))?;
        let end = bytes[start..]
            .iter()
            .position(|&b| is_field_space(b))
            .map_or(bytes.len(), |n| start + n);
        let field = &self.0[start..end];
        self.0 = &self.0[end..];
        Some(field)
    }
}

/// Escapes client-supplied bytes for a log line: printable ASCII stays,
/// everything else (newlines included) becomes `\n`, `\xNN` and so on, so a
/// client cannot forge or split log lines.
pub fn escape(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
