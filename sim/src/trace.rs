//! The run's trace: every server event (from the server's own `tracing`
//! events, see herd::server::events) and every driver action, one line
//! each, stamped with simulated time. Same scenario + seed = same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// The trace lines of one run, shared by every host's layer and the driver.
#[derive(Clone, Default)]
pub struct Trace {
    lines: Arc<Mutex<Vec<String>>>,
    records: Arc<Mutex<Vec<Record>>>,
    show_heartbeats: bool,
    show_messages: bool,
    counts: Arc<Mutex<Counts>>,
}

/// What the servers sent between them, counted whether or not the trace
/// shows it: the flood-cost check's evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// `HERD AT` lines sent to neighbours (flooded and catch-up updates).
    pub update_sends: u64,
    /// Catch-up dumps started (one per `feed_up` or `HERD RESYNC` received).
    pub feed_starts: u64,
}

/// One event as data, kept beside the text trace for the diagram and the
/// statistics (src/svg.rs, src/stats.rs). Unlike the text trace, records
/// keep every message, heartbeats included, and the whole line: `text` is
/// the server's escaped text without its quotes, never shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub at: Duration,
    pub who: String,
    pub kind: String,
    pub peer: String,
    pub text: String,
    /// A `HERD PING` (a DEBUG event).
    pub heartbeat: bool,
}

impl Trace {
    /// `show_messages: false` leaves out every line sent and received, for
    /// scenarios whose volume would drown the trace.
    pub fn new(show_heartbeats: bool, show_messages: bool) -> Self {
        Self {
            lines: Arc::default(),
            records: Arc::default(),
            show_heartbeats,
            show_messages,
            counts: Arc::default(),
        }
    }

    /// The inter-server traffic so far.
    pub fn counts(&self) -> Counts {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, kind: &str, line: Option<&String>) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        match kind {
            "send" if line.is_some_and(|l| unquote(l).starts_with("HERD AT ")) => counts.update_sends += 1,
            // A dump starts when a neighbour subscribes, and again when it
            // asks for one (`HERD RESYNC`, pruned flooding).
            "feed_up" => counts.feed_starts += 1,
            "recv" if line.is_some_and(|l| unquote(l).starts_with("HERD RESYNC")) => counts.feed_starts += 1,
            _ => {}
        }
    }

    /// One line: `  12.345s Goloman  recv        Hands    HERD AT ...`,
    /// and its record.
    pub fn push(&self, at: Duration, who: &str, kind: &str, peer: &str, text: &str) {
        self.record(at, who, kind, peer, text, false);
        self.push_line(at, who, kind, peer, text);
    }

    /// Keeps an event as data only.
    pub fn record(&self, at: Duration, who: &str, kind: &str, peer: &str, text: &str, heartbeat: bool) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Record {
                at,
                who: who.to_string(),
                kind: kind.to_string(),
                peer: peer.to_string(),
                text: text.to_string(),
                heartbeat,
            });
    }

    /// Every record so far, in the order they happened.
    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn push_line(&self, at: Duration, who: &str, kind: &str, peer: &str, text: &str) {
        let mut line = format!(
            "{:>4}.{:03}s {who:<8} {kind:<12} {peer:<8}",
            at.as_secs(),
            at.subsec_millis()
        );
        if !text.is_empty() {
            line.push(' ');
            line.push_str(text);
        }
        let trimmed = line.trim_end().to_string();
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).push(trimmed);
    }

    /// The whole trace, one event a line.
    pub fn text(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for line in lines.iter() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// The dispatcher a server named `host` runs under.
    pub fn dispatch(&self, host: &str) -> Dispatch {
        let layer = HostLayer {
            host: host.to_string(),
            trace: self.clone(),
        };
        Dispatch::new(tracing_subscriber::registry().with(layer))
    }
}

/// Turns one host's `herd` events into trace lines.
struct HostLayer {
    host: String,
    trace: Trace,
}

impl<S: Subscriber> Layer<S> for HostLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target() != herd::observe::TARGET {
            return;
        }
        let heartbeat = *meta.level() > Level::INFO;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut fields = fields.0;
        let kind = fields.remove("kind").unwrap_or_default();
        self.trace.count(&kind, fields.get("line"));
        let message = kind == "recv" || kind == "send";
        let peer = fields.remove("peer").map(|p| peer_name(&p)).unwrap_or_default();
        let at = turmoil::sim_elapsed().unwrap_or_default();
        let whole = if message {
            fields.get("line").map(|l| unquote(l).to_string())
        } else {
            None
        };
        let text = describe(&kind, &mut fields);
        let whole = whole.as_deref().unwrap_or(&text);
        self.trace.record(at, &self.host, &kind, &peer, whole, heartbeat);
        if heartbeat && !self.trace.show_heartbeats {
            return;
        }
        if !self.trace.show_messages && message {
            return;
        }
        self.trace.push_line(at, &self.host, &kind, &peer, &text);
    }
}

/// The server quotes client text in its events (see `events::quoted`);
/// the trace's columns already delimit it.
fn unquote(text: &str) -> &str {
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text)
}

/// The text after the peer column, per event kind.
fn describe(kind: &str, fields: &mut BTreeMap<&'static str, String>) -> String {
    let mut take = |name: &str| fields.remove(name).unwrap_or_default();
    let main = match kind {
        "recv" | "send" => shorten(unquote(&take("line"))),
        "invalid" => unquote(&take("error")).to_string(),
        "listening" => take("addr"),
        "client_close" | "link_down" | "feed_down" => take("why"),
        "link_up" => {
            if take("again") == "true" {
                "again".to_string()
            } else {
                "first".to_string()
            }
        }
        "link_retry" => format!("{}; retry in {} ms", take("why"), take("delay_ms")),
        _ => String::new(),
    };
    let mut out = main;
    for (name, value) in fields.iter() {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{name}={value}");
    }
    out
}

/// Long lines (WHATSAT replies) cut to a readable length; the cut is
/// deterministic, so the trace stays exact.
pub fn shorten(text: &str) -> String {
    const KEEP: usize = 120;
    if text.len() <= KEEP + 40 {
        return text.to_string();
    }
    let cut: String = text.chars().take(KEEP).collect();
    format!("{cut}... ({} bytes)", text.len())
}

/// A client's address becomes its turmoil host name, which is stable and
/// says which scenario client it is.
fn peer_name(peer: &str) -> String {
    match peer.parse::<std::net::SocketAddr>() {
        Ok(addr) => match turmoil::reverse_lookup(addr.ip()) {
            Some(name) => format!("{name}:{}", addr.port()),
            None => peer.to_string(),
        },
        Err(_) => peer.to_string(),
    }
}

#[derive(Default)]
struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}
