use std::cmp::Ordering;
use std::fmt;

use super::{ClientTime, Location, Skew};

/// One client location as the herd stores and floods it: everything needed
/// to rebuild the origin server's AT line anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The server that received the IAMAT.
    pub origin: String,
    pub skew: Skew,
    pub client: String,
    pub location: Location,
    pub time: ClientTime,
}

impl Update {
    /// The total order behind "newest wins": client time first, then the
    /// rest of the record, so two different updates with equal client times
    /// resolve the same way on every server whatever the arrival order.
    pub fn precedence(&self, other: &Self) -> Ordering {
        self.time
            .nanos()
            .cmp(&other.time.nanos())
            .then_with(|| self.origin.cmp(&other.origin))
            .then_with(|| self.skew.cmp(&other.skew))
            .then_with(|| self.location.as_str().cmp(other.location.as_str()))
            .then_with(|| self.time.as_str().cmp(other.time.as_str()))
    }

    /// `AT <origin> <skew> <client> <location> <time>`, no line ending.
    pub fn at_line(&self) -> String {
        self.to_string()
    }

    /// Appends `<origin> <skew> <client> <location> <time>`, each text
    /// field through `text` (copied as it is for the wire, escaped for a
    /// log), without going through `core::fmt`.
    pub fn write_fields(&self, out: &mut Vec<u8>, text: impl Fn(&mut Vec<u8>, &[u8])) {
        text(out, self.origin.as_bytes());
        out.push(b' ');
        self.skew.write_to(out);
        out.push(b' ');
        text(out, self.client.as_bytes());
        out.push(b' ');
        text(out, self.location.as_str().as_bytes());
        out.push(b' ');
        text(out, self.time.as_str().as_bytes());
    }

    /// Appends the AT line, without its line ending.
    pub fn write_at_line(&self, out: &mut Vec<u8>, text: impl Fn(&mut Vec<u8>, &[u8])) {
        out.extend_from_slice(b"AT ");
        self.write_fields(out, text);
    }
}

/// Copies a text field as it is: what goes on the wire.
pub fn verbatim(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(text);
}

impl fmt::Display for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = Vec::with_capacity(128);
        self.write_at_line(&mut line, verbatim);
        f.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}
