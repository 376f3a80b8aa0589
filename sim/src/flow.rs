//! A run's messages as data: every line a server sent or received, paired
//! send-with-receive, classified by kind, plus the faults and convergence
//! moments of the timeline. Built from a run's records (trace::Record);
//! the diagram (svg.rs) and the statistics (stats.rs) both read it.
//!
//! Pairing. Inter-server lines are paired per direction and channel, in
//! order (TCP is FIFO per connection): a receive takes the earliest unpaired
//! send with the same text that was sent on the receiver's connection, that
//! is at or after the subscriber's latest `link_up` for that pair (a link
//! carries one connection at a time). Sends left unpaired were lost (a
//! partition wedged their connection, or the receiver died). Heartbeats are
//! all alike and travel both ways on both connections of a pair, so a
//! `HERD PING` receive takes the latest unpaired ping sent to it.
//!
//! Clients are not servers: only the server side of a client connection
//! emits events. A client line leaves the client when it connected (the
//! driver's `connect` record) and a reply arrives when the driver saw the
//! client finish (its `reply` record); where no record says (the lines of a
//! `many_clients` connection), the time is estimated as the server's time
//! minus (or plus) the median inter-server delay of the run, and marked so.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::trace::Record;

/// What a message is, for colour and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A line from a client (IAMAT, WHATSAT, or anything invalid).
    Client,
    /// A server's answer to a client.
    Reply,
    /// A `HERD AT` flooded because it changed the sender's store.
    Update,
    /// A `HERD AT` of a catch-up dump, or the dump's `HERD SYNCED`.
    CatchUp,
    /// `HERD HELLO`: a subscriber opening its link.
    Hello,
    /// `HERD PING`.
    Heartbeat,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Client,
        Kind::Reply,
        Kind::Update,
        Kind::CatchUp,
        Kind::Hello,
        Kind::Heartbeat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Client => "client line",
            Kind::Reply => "reply",
            Kind::Update => "update (HERD AT)",
            Kind::CatchUp => "catch-up dump",
            Kind::Hello => "link hello",
            Kind::Heartbeat => "heartbeat",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Reply => "reply",
            Kind::Update => "update",
            Kind::CatchUp => "catchup",
            Kind::Hello => "hello",
            Kind::Heartbeat => "heartbeat",
        }
    }
}

/// One line on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: Kind,
    /// A server name, or a client's turmoil host name.
    pub from: String,
    pub to: String,
    /// The line as the server logged it (escaped, whole).
    pub text: String,
    /// When it left; `None` only for a receive whose send was not seen.
    pub sent: Option<Duration>,
    /// When it arrived; `None` when it was lost.
    pub received: Option<Duration>,
    /// The client side's time was estimated (see the module comment).
    pub estimated: bool,
}

/// Something drawn as a shaded span of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// `partition`, `partition>` (one way), `hold`, `crash`, `silent_death`.
    pub what: String,
    /// The servers it touches.
    pub servers: Vec<String>,
    /// The record's text, e.g. `Welsh / Holiday,Goloman`.
    pub label: String,
    pub from: Duration,
    /// `None`: still in force when the run ended.
    pub to: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// Servers in herd order, then client hosts in order of appearance.
    pub servers: Vec<String>,
    pub clients: Vec<String>,
    pub messages: Vec<Message>,
    pub spans: Vec<Span>,
    /// When a `converged` step passed, with its text.
    pub converged: Vec<(Duration, String)>,
    /// When the run failed, and why.
    pub failed: Option<(Duration, String)>,
    /// Time of the last record.
    pub end: Duration,
    /// The median time an inter-server line took, send to receive.
    pub median_delay: Duration,
}

/// Which queue of sends a receive is paired from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    /// Publisher to subscriber (`HERD AT`, `HERD SYNCED`).
    Down,
    /// Subscriber to publisher (`HERD HELLO`).
    Up,
    Ping,
}

struct Send {
    at: Duration,
    text: String,
    kind: Kind,
    paired: bool,
}

fn kind_of_peer_line(text: &str) -> Option<(Kind, Channel)> {
    let rest = text.strip_prefix("HERD ")?;
    Some(match rest.split_whitespace().next()? {
        "AT" => (Kind::Update, Channel::Down),
        "SYNCED" => (Kind::CatchUp, Channel::Down),
        "HELLO" => (Kind::Hello, Channel::Up),
        "PING" => (Kind::Heartbeat, Channel::Ping),
        _ => return None,
    })
}

/// A line on a client connection, seen from the server: when, whether the
/// server sent it (else received it), and its text.
type ClientLine = (Duration, bool, String);

/// Builds the flow of a run from its records; `servers` are the herd's
/// server names in config order.
pub fn build(records: &[Record], servers: &[String]) -> Flow {
    let is_server = |name: &str| servers.iter().any(|s| s == name);
    let mut flow = Flow {
        servers: servers.to_vec(),
        ..Flow::default()
    };
    // Inter-server sends per (from, to, channel), and receives in order.
    let mut sends: BTreeMap<(String, String, Channel), Vec<Send>> = BTreeMap::new();
    let mut recvs: Vec<(String, String, Channel, Duration, String)> = Vec::new();
    // Subscriber `link_up` times per (subscriber, publisher).
    let mut link_ups: BTreeMap<(String, String), Vec<Duration>> = BTreeMap::new();
    // Publisher feeds in their catch-up dump, per (publisher, subscriber).
    let mut dumping: BTreeSet<(String, String)> = BTreeSet::new();
    // Client connections, per (server, peer "host:port"): lines in order.
    let mut client_lines: BTreeMap<(String, String), Vec<ClientLine>> = BTreeMap::new();
    let mut connects: BTreeMap<String, Duration> = BTreeMap::new();
    let mut replies: BTreeMap<String, Duration> = BTreeMap::new();
    let mut client_order: Vec<String> = Vec::new();
    let mut open_spans: Vec<(Span, BTreeSet<(String, String)>)> = Vec::new();

    for r in records {
        flow.end = flow.end.max(r.at);
        if r.who == "sim" {
            note_driver(r, &mut flow, &mut open_spans);
            continue;
        }
        if !is_server(&r.who) {
            // A scenario client, as the driver saw it.
            match r.kind.as_str() {
                "connect" => {
                    connects.entry(r.who.clone()).or_insert(r.at);
                }
                "reply" => {
                    replies.insert(r.who.clone(), r.at);
                }
                _ => {}
            }
            continue;
        }
        // A neighbour's first line (`HERD HELLO`) arrives on a connection
        // the server accepted, logged with the neighbour's address.
        let peer = match client_host(&r.peer) {
            host if host != r.peer && is_server(&host) => host,
            _ => r.peer.clone(),
        };
        let r = &Record { peer, ..r.clone() };
        match r.kind.as_str() {
            "link_up" => link_ups
                .entry((r.who.clone(), r.peer.clone()))
                .or_default()
                .push(r.at),
            "feed_up" => {
                dumping.insert((r.who.clone(), r.peer.clone()));
            }
            "send" | "recv" if is_server(&r.peer) => {
                let Some((kind, ch)) = kind_of_peer_line(&r.text) else {
                    continue;
                };
                if r.kind == "send" {
                    let pair = (r.who.clone(), r.peer.clone());
                    let kind = match kind {
                        Kind::Update if dumping.contains(&pair) => Kind::CatchUp,
                        Kind::CatchUp => {
                            dumping.remove(&pair);
                            Kind::CatchUp
                        }
                        k => k,
                    };
                    sends
                        .entry((r.who.clone(), r.peer.clone(), ch))
                        .or_default()
                        .push(Send {
                            at: r.at,
                            text: r.text.clone(),
                            kind,
                            paired: false,
                        });
                } else {
                    recvs.push((r.peer.clone(), r.who.clone(), ch, r.at, r.text.clone()));
                }
            }
            "send" | "recv" => {
                let host = client_host(&r.peer);
                if !client_order.contains(&host) {
                    client_order.push(host);
                }
                client_lines
                    .entry((r.who.clone(), r.peer.clone()))
                    .or_default()
                    .push((r.at, r.kind == "send", r.text.clone()));
            }
            _ => {}
        }
    }

    // Receives, paired in time order.
    let mut delays = Vec::new();
    let mut unpaired_recvs = Vec::new();
    for (from, to, ch, at, text) in recvs {
        let (subscriber, publisher) = match ch {
            Channel::Down => (&to, &from),
            _ => (&from, &to),
        };
        let since = link_ups
            .get(&(subscriber.clone(), publisher.clone()))
            .and_then(|ups| ups.iter().rev().find(|&&t| t <= at).copied())
            .unwrap_or_default();
        let queue = sends.entry((from.clone(), to.clone(), ch.clone())).or_default();
        let found = if ch == Channel::Ping {
            queue.iter_mut().rev().find(|s| !s.paired && s.at <= at)
        } else {
            queue
                .iter_mut()
                .find(|s| !s.paired && s.at >= since && s.at <= at && s.text == text)
        };
        match found {
            Some(send) => {
                send.paired = true;
                delays.push(at - send.at);
                flow.messages.push(Message {
                    kind: send.kind,
                    from: from.clone(),
                    to: to.clone(),
                    text: text.clone(),
                    sent: Some(send.at),
                    received: Some(at),
                    estimated: false,
                });
            }
            None => unpaired_recvs.push((from, to, ch, at, text)),
        }
    }
    for ((from, to, _), queue) in &sends {
        for send in queue.iter().filter(|s| !s.paired) {
            flow.messages.push(Message {
                kind: send.kind,
                from: from.clone(),
                to: to.clone(),
                text: send.text.clone(),
                sent: Some(send.at),
                received: None,
                estimated: false,
            });
        }
    }
    for (from, to, _, at, text) in unpaired_recvs {
        let kind = kind_of_peer_line(&text).map_or(Kind::Update, |(k, _)| k);
        flow.messages.push(Message {
            kind,
            from,
            to,
            text,
            sent: None,
            received: Some(at),
            estimated: false,
        });
    }
    delays.sort();
    flow.median_delay = delays
        .get(delays.len() / 2)
        .copied()
        .unwrap_or(Duration::from_millis(1));

    // Client connections, seen from the server.
    let typical = flow.median_delay;
    for ((server, peer), lines) in &client_lines {
        let host = client_host(peer);
        let last_send = lines.iter().rposition(|(_, sent, _)| *sent);
        let mut previous_reply: Option<Duration> = None;
        for (i, (at, sent, text)) in lines.iter().enumerate() {
            if *sent {
                let (arrived, estimated) = match replies.get(&host) {
                    Some(&t) if Some(i) == last_send && t >= *at => (t, false),
                    _ => (*at + typical, true),
                };
                previous_reply = Some(arrived);
                flow.messages.push(Message {
                    kind: Kind::Reply,
                    from: server.clone(),
                    to: host.clone(),
                    text: text.clone(),
                    sent: Some(*at),
                    received: Some(arrived),
                    estimated,
                });
            } else {
                let (left, estimated) = match connects.get(&host) {
                    Some(&t) if t <= *at => (t, false),
                    _ => {
                        let guess = at.saturating_sub(typical);
                        (previous_reply.map_or(guess, |p| p.max(guess).min(*at)), true)
                    }
                };
                flow.messages.push(Message {
                    kind: Kind::Client,
                    from: host.clone(),
                    to: server.clone(),
                    text: text.clone(),
                    sent: Some(left),
                    received: Some(*at),
                    estimated,
                });
            }
        }
    }
    flow.clients = client_order;
    for (mut span, _) in open_spans {
        span.to = None;
        flow.spans.push(span);
    }
    flow.spans
        .sort_by(|a, b| a.from.cmp(&b.from).then(a.label.cmp(&b.label)));
    flow.messages.sort_by(|a, b| {
        let key = |m: &Message| m.sent.or(m.received).unwrap_or_default();
        key(a)
            .cmp(&key(b))
            .then(a.from.cmp(&b.from))
            .then(a.to.cmp(&b.to))
    });
    flow
}

/// A client peer `host:port` as its turmoil host name.
pub fn client_host(peer: &str) -> String {
    peer.rsplit_once(':').map_or(peer, |(host, _)| host).to_string()
}

/// `a,b / c,d` as the two groups.
fn groups(text: &str) -> (Vec<String>, Vec<String>) {
    let (a, b) = text.split_once(" / ").unwrap_or((text, ""));
    let list = |s: &str| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    (list(a), list(b))
}

/// Faults and convergence, from the driver's records.
fn note_driver(r: &Record, flow: &mut Flow, open: &mut Vec<(Span, BTreeSet<(String, String)>)>) {
    let kind = r.kind.as_str();
    match kind {
        "partition" | "partition>" | "hold" => {
            let (a, b) = groups(&r.text);
            let mut pairs = BTreeSet::new();
            for x in &a {
                for y in &b {
                    pairs.insert((x.clone(), y.clone()));
                    if kind != "partition>" {
                        pairs.insert((y.clone(), x.clone()));
                    }
                }
            }
            let mut servers = a.clone();
            servers.extend(b.iter().cloned());
            let what = if kind == "partition>" {
                "one-way partition"
            } else {
                kind
            };
            open.push((
                Span {
                    what: what.to_string(),
                    servers,
                    label: r.text.clone(),
                    from: r.at,
                    to: None,
                },
                pairs,
            ));
        }
        "heal" | "heal>" | "release" => {
            let (a, b) = groups(&r.text);
            let undoes = |what: &str| {
                if kind == "release" {
                    what == "hold"
                } else {
                    what != "hold" && what != "crash" && what != "silent death"
                }
            };
            let mut i = 0;
            while i < open.len() {
                if undoes(&open[i].0.what) {
                    let pairs = &mut open[i].1;
                    for x in &a {
                        for y in &b {
                            pairs.remove(&(x.clone(), y.clone()));
                            if kind != "heal>" {
                                pairs.remove(&(y.clone(), x.clone()));
                            }
                        }
                    }
                    if pairs.is_empty() {
                        let (mut span, _) = open.remove(i);
                        span.to = Some(r.at);
                        flow.spans.push(span);
                        continue;
                    }
                }
                i += 1;
            }
        }
        "crash" | "silent_death" => {
            let what = if kind == "crash" { "crash" } else { "silent death" };
            let mut pairs = BTreeSet::new();
            pairs.insert((r.peer.clone(), r.peer.clone()));
            open.push((
                Span {
                    what: what.to_string(),
                    servers: vec![r.peer.clone()],
                    label: r.peer.clone(),
                    from: r.at,
                    to: None,
                },
                pairs,
            ));
        }
        "restart" => {
            if let Some(i) = open.iter().position(|(s, _)| {
                (s.what == "crash" || s.what == "silent death") && s.servers == [r.peer.clone()]
            }) {
                let (mut span, _) = open.remove(i);
                span.to = Some(r.at);
                flow.spans.push(span);
            }
        }
        "converged" => flow.converged.push((r.at, r.text.clone())),
        "FAIL" => flow.failed = Some((r.at, r.text.clone())),
        _ => {}
    }
}
