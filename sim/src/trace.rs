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
    show_heartbeats: bool,
    show_messages: bool,
}

impl Trace {
    /// `show_messages: false` leaves out every line sent and received, for
    /// scenarios whose volume would drown the trace.
    pub fn new(show_heartbeats: bool, show_messages: bool) -> Self {
        Self {
            lines: Arc::default(),
            show_heartbeats,
            show_messages,
        }
    }

    /// One line: `  12.345s Goloman  recv        Hands    HERD AT ...`.
    pub fn push(&self, at: Duration, who: &str, kind: &str, peer: &str, text: &str) {
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
        if meta.target() != herd::server::events::TARGET {
            return;
        }
        if *meta.level() > Level::INFO && !self.trace.show_heartbeats {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut fields = fields.0;
        let kind = fields.remove("kind").unwrap_or_default();
        if !self.trace.show_messages && (kind == "recv" || kind == "send") {
            return;
        }
        let peer = fields.remove("peer").map(|p| peer_name(&p)).unwrap_or_default();
        let text = describe(&kind, &mut fields);
        let at = turmoil::sim_elapsed().unwrap_or_default();
        self.trace.push(at, &self.host, &kind, &peer, &text);
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
