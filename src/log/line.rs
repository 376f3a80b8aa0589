//! One event as one log line (the format is in docs/protocol.md, "Log
//! files"): timestamp, level, kind, then ` key=value` fields, connection
//! and peer first. Text that reaches us from outside is quoted and escaped.

use std::fmt::{self, Write as _};

use super::text::{escape_into, escape_token_into, number, Stamp};
use crate::observe::{ConnId, Event, Level, Role, Source};
use crate::protocol::{PeerMessage, Update};

/// Appends the line for `event`, stamped `unix_nanos`, ending in `\n`.
pub(crate) fn write(out: &mut Vec<u8>, stamp: &mut Stamp, unix_nanos: i128, event: &Event<'_>) {
    stamp.write(out, unix_nanos);
    out.extend_from_slice(match event.level() {
        Level::Debug => b" DEBUG ",
        Level::Info => b"  INFO ",
        Level::Warn => b"  WARN ",
    });
    out.extend_from_slice(event.kind().as_bytes());
    fields(&mut Line(out), event);
    out.push(b'\n');
}

fn fields(l: &mut Line<'_>, event: &Event<'_>) {
    match *event {
        Event::Listening { role, addr } => {
            l.token("role", role_name(role).as_bytes());
            l.token("addr", addr.as_bytes());
        }
        Event::Opened { conn, role, peer } => {
            l.conn(conn);
            l.token("peer", peer.as_bytes());
            l.token("role", role_name(role).as_bytes());
        }
        Event::Closed { conn, why } => {
            l.conn(conn);
            l.quoted("why", why.as_bytes());
        }
        Event::ClientLine { conn, line } => {
            l.conn(conn);
            l.quoted("line", line);
        }
        Event::Reply { conn, bytes } => {
            l.conn(conn);
            // Shown like a received line: without its final line ending.
            l.quoted("line", bytes.strip_suffix(b"\n").unwrap_or(bytes));
        }
        Event::Invalid { conn, error } => {
            l.conn(conn);
            l.display("error", error);
        }
        Event::PeerRecv {
            conn,
            neighbour,
            message,
        }
        | Event::PeerSend {
            conn,
            neighbour,
            message,
        } => {
            l.conn(conn);
            l.token("peer", neighbour.as_bytes());
            l.message(message);
        }
        Event::PeerInvalid {
            conn,
            neighbour,
            line,
            error,
        } => {
            l.conn(conn);
            l.token("peer", neighbour.as_bytes());
            l.quoted("line", line);
            l.display("error", error);
        }
        Event::Stored {
            update,
            replaced,
            source,
        } => {
            match source {
                Source::Client(conn) => l.conn(conn),
                Source::Neighbour(neighbour) => l.token("peer", neighbour.as_bytes()),
            }
            l.update("update", update);
            if let Some(replaced) = replaced {
                l.update("replaced", replaced);
            }
        }
        Event::Evicted { update } => l.update("update", update),
        Event::LinkUp {
            conn,
            neighbour,
            again,
        } => {
            l.conn(conn);
            l.token("peer", neighbour.as_bytes());
            l.token("again", if again { b"true" } else { b"false" });
        }
        Event::LinkDown { conn, neighbour, why } | Event::FeedDown { conn, neighbour, why } => {
            l.conn(conn);
            l.token("peer", neighbour.as_bytes());
            l.quoted("why", why.as_bytes());
        }
        Event::LinkRetry {
            neighbour,
            why,
            delay_ms,
        } => {
            l.token("peer", neighbour.as_bytes());
            l.quoted("why", why.as_bytes());
            l.number("delay_ms", delay_ms);
        }
        Event::FeedUp { conn, neighbour } => {
            l.conn(conn);
            l.token("peer", neighbour.as_bytes());
        }
        Event::Refused { conn, claimed, why } => {
            l.conn(conn);
            l.quoted("claimed", claimed.as_bytes());
            l.quoted("why", why.as_bytes());
        }
        Event::AckGaveUp { neighbour, count } => {
            l.token("peer", neighbour.as_bytes());
            l.number("count", count as u64);
        }
        Event::Places {
            conn,
            status,
            radius_m,
            bound,
        } => {
            l.conn(conn);
            l.quoted("status", status.as_bytes());
            l.token("radius_m", radius_m.as_bytes());
            l.number("bound", bound as u64);
        }
        Event::Warning { message } => l.quoted("message", message.as_bytes()),
        Event::Shutdown => {}
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Link => "link",
    }
}

/// The fields of one line, appended as ` key=value`.
struct Line<'a>(&'a mut Vec<u8>);

impl Line<'_> {
    fn key(&mut self, key: &str) {
        self.0.push(b' ');
        self.0.extend_from_slice(key.as_bytes());
        self.0.push(b'=');
    }

    fn conn(&mut self, conn: ConnId) {
        self.number("conn", conn);
    }

    fn number(&mut self, key: &str, value: u64) {
        self.key(key);
        number(self.0, value);
    }

    /// A value without quotes: a name, an address, a word of ours.
    fn token(&mut self, key: &str, value: &[u8]) {
        self.key(key);
        escape_token_into(self.0, value);
    }

    fn quoted(&mut self, key: &str, value: &[u8]) {
        self.key(key);
        self.0.push(b'"');
        escape_into(self.0, value);
        self.0.push(b'"');
    }

    fn display(&mut self, key: &str, value: &dyn fmt::Display) {
        self.key(key);
        self.0.push(b'"');
        let _ = write!(Escaping(self.0), "{value}");
        self.0.push(b'"');
    }

    fn update(&mut self, key: &str, update: &Update) {
        self.key(key);
        self.0.push(b'"');
        update.write_at_line(self.0, escape_into);
        self.0.push(b'"');
    }

    /// An inter-server message as its wire line, escaped.
    fn message(&mut self, message: &PeerMessage) {
        self.key("line");
        self.0.push(b'"');
        message.write_to(self.0, escape_into);
        self.0.push(b'"');
    }
}

/// Escapes what `Display` writes as it is written, with no string between.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s.as_bytes());
        Ok(())
    }
}
