//! The run's trace as text, one line per record:
//! `  12.345s Goloman  recv         Hands    HERD AT ...`: time, who (a
//! server, a client host, or `sim`), what, the peer, and the rest. Same
//! records, same text: the determinism check compares these bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::record::{ClientEvent, ConnId, End, Fault, Note, Record, Role, ServerEvent, Source, What};

/// What the trace leaves out.
#[derive(Debug, Clone, Copy)]
pub struct TraceOptions {
    /// Keep `HERD PING` lines.
    pub heartbeats: bool,
    /// Keep every line sent and received, and every store change; false
    /// for scenarios whose volume would drown the trace.
    pub messages: bool,
}

/// The whole trace.
pub fn render(records: &[Record], options: TraceOptions) -> String {
    let mut out = String::new();
    // Per server: its incarnation, and what each connection is shown as.
    let mut peers: BTreeMap<&str, (u32, BTreeMap<ConnId, String>)> = BTreeMap::new();
    for record in records {
        let line = match &record.what {
            What::Server { incarnation, event } => {
                let (seen, conns) = peers.entry(&record.host).or_default();
                if *seen != *incarnation {
                    *seen = *incarnation;
                    conns.clear();
                }
                if (event.is_heartbeat() && !options.heartbeats) || (is_message(event) && !options.messages) {
                    None
                } else {
                    Some(server_line(event, conns))
                }
            }
            What::Client(event) => client_line(event).filter(|_| options.messages),
            What::Driver(note) => Some(note_line(note)),
        };
        if let Some((kind, peer, text)) = line {
            push_line(&mut out, record.at, &record.host, kind, &peer, &text);
        }
    }
    out
}

fn push_line(out: &mut String, at: Duration, who: &str, kind: &str, peer: &str, text: &str) {
    let mut line = format!(
        "{:>4}.{:03}s {who:<8} {kind:<12} {peer:<8}",
        at.as_secs(),
        at.subsec_millis()
    );
    if !text.is_empty() {
        line.push(' ');
        line.push_str(text);
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn is_message(event: &ServerEvent) -> bool {
    matches!(
        event,
        ServerEvent::ClientLine { .. }
            | ServerEvent::Reply { .. }
            | ServerEvent::PeerRecv { .. }
            | ServerEvent::PeerSend { .. }
            | ServerEvent::Stored { .. }
    )
}

/// Bytes as the trace shows them: printable ASCII, the rest escaped.
pub fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
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

type Line = (&'static str, String, String);

fn server_line(event: &ServerEvent, conns: &mut BTreeMap<ConnId, String>) -> Line {
    use ServerEvent as S;
    fn peer_of(conns: &BTreeMap<ConnId, String>, conn: &ConnId) -> String {
        conns.get(conn).cloned().unwrap_or_else(|| format!("#{conn}"))
    }
    let none = String::new;
    match event {
        S::Listening { role, addr } => ("listening", none(), format!("{addr}{}", role_text(*role))),
        S::Opened { conn, role, peer: p } => {
            conns.insert(*conn, p.label());
            ("open", p.label(), role_text(*role).trim().to_string())
        }
        S::Closed { conn, why } => ("close", peer_of(conns, conn), why.clone()),
        S::ClientLine { conn, line } => ("recv", peer_of(conns, conn), shorten(&escaped(line))),
        S::Reply { conn, bytes } => ("send", peer_of(conns, conn), shorten(&escaped(bytes))),
        S::Invalid { conn, error } => ("invalid", peer_of(conns, conn), escaped(error.as_bytes())),
        S::PeerRecv {
            neighbour, message, ..
        } => ("recv", neighbour.clone(), shorten(&message.to_string())),
        S::PeerSend {
            neighbour, message, ..
        } => ("send", neighbour.clone(), shorten(&message.to_string())),
        S::PeerInvalid {
            neighbour,
            line,
            error,
            ..
        } => (
            "invalid",
            neighbour.clone(),
            format!("{}: {error}", shorten(&escaped(line))),
        ),
        S::Stored { update, source, .. } => {
            let from = match source {
                Source::Client(conn) => peer_of(conns, conn),
                Source::Neighbour(name) => name.clone(),
            };
            ("stored", from, update.to_string())
        }
        S::Evicted { update } => ("evicted", none(), update.to_string()),
        S::LinkUp {
            conn,
            neighbour,
            again,
        } => {
            conns.insert(*conn, neighbour.clone());
            (
                "link_up",
                neighbour.clone(),
                (if *again { "again" } else { "first" }).to_string(),
            )
        }
        S::LinkDown { neighbour, why, .. } => ("link_down", neighbour.clone(), why.clone()),
        S::LinkRetry {
            neighbour,
            why,
            delay_ms,
        } => (
            "link_retry",
            neighbour.clone(),
            format!("{why}; retry in {delay_ms} ms"),
        ),
        S::FeedUp { conn, neighbour } => {
            conns.insert(*conn, neighbour.clone());
            ("feed_up", neighbour.clone(), none())
        }
        S::FeedDown { neighbour, why, .. } => ("feed_down", neighbour.clone(), why.clone()),
        S::Refused { conn, claimed, why } => (
            "refused",
            peer_of(conns, conn),
            format!("claimed {}: {why}", escaped(claimed.as_bytes())),
        ),
        S::AckGaveUp { neighbour, count } => ("ack_gave_up", neighbour.clone(), format!("{count} updates")),
        S::Places {
            conn,
            status,
            radius_m,
            bound,
        } => (
            "places",
            peer_of(conns, conn),
            format!(
                "status={} radius_m={radius_m} bound={bound}",
                escaped(status.as_bytes())
            ),
        ),
        S::Warning { message } => ("warning", none(), message.clone()),
        S::Shutdown => ("shutdown", none(), none()),
        S::Other { kind } => (kind, none(), none()),
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::Client => "",
        Role::Link => " link port",
    }
}

fn client_line(event: &ClientEvent) -> Option<Line> {
    Some(match event {
        ClientEvent::Sent { server, bytes, .. } => ("send", server.clone(), shorten(&escaped(bytes))),
        ClientEvent::Received { server, bytes, .. } => ("recv", server.clone(), shorten(&escaped(bytes))),
        ClientEvent::Ended { server, end, .. } | ClientEvent::NotConnected { server, end } => {
            let connected = matches!(event, ClientEvent::Ended { .. });
            match end {
                End::Done if connected => return None,
                End::Done => ("close", server.clone(), String::new()),
                End::TimedOut if connected => ("timeout", server.clone(), String::new()),
                End::TimedOut => ("timeout", server.clone(), "connecting".to_string()),
                End::Failed(why) => ("error", server.clone(), why.clone()),
            }
        }
    })
}

fn groups(a: &[String], b: &[String]) -> String {
    format!("{} / {}", a.join(","), b.join(","))
}

fn note_line(note: &Note) -> Line {
    let none = String::new;
    match note {
        Note::Seed { seed, scenario } => ("seed", none(), format!("{seed} scenario {scenario}")),
        Note::ManyClients {
            count,
            prefix,
            servers,
        } => (
            "many_clients",
            none(),
            format!("{count} clients {prefix}NNNN over {}", servers.join(",")),
        ),
        Note::Fault(fault) => fault_line(fault),
        Note::Places(behaviour) => ("places", none(), behaviour.clone()),
        Note::Waiting { within_ms } => ("converged?", none(), format!("within {within_ms} ms")),
        Note::Converged { after_ms, clients } => (
            "converged",
            none(),
            format!("after {after_ms} ms, {clients} clients"),
        ),
        Note::Holds { server, client, held } => (
            "holds",
            server.clone(),
            format!("{client}: {}", held.as_deref().unwrap_or("nothing")),
        ),
        Note::Acked {
            client,
            server,
            readers,
        } => {
            let mut text = format!("{client} holds its AT reply");
            if !readers.is_empty() {
                let _ = write!(text, "; must read it at {}", readers.join(","));
            }
            ("acked", server.clone(), text)
        }
        Note::Polling { asks } => ("polling", none(), format!("{asks} WHATSATs")),
        Note::End => ("end", none(), none()),
        Note::Fail { place, message } => ("FAIL", none(), format!("{place}: {message}")),
        Note::Bulk {
            server,
            count,
            connections,
        } => (
            "bulk",
            server.clone(),
            format!("{count} IAMATs over {connections} connections"),
        ),
        Note::Abuse {
            server,
            attack,
            count,
        } => ("abuse", server.clone(), format!("{attack} x{count}")),
        Note::Squatted { server, from } => ("squatted", server.clone(), format!("link from {from}")),
        Note::Refused { message } => ("refused", none(), message.clone()),
    }
}

fn fault_line(fault: &Fault) -> Line {
    let none = String::new;
    match fault {
        Fault::Partition { a, b, oneway } => (
            if *oneway { "partition>" } else { "partition" },
            none(),
            groups(a, b),
        ),
        Fault::Heal { a, b, oneway } => (if *oneway { "heal>" } else { "heal" }, none(), groups(a, b)),
        Fault::Hold { a, b } => ("hold", none(), groups(a, b)),
        Fault::Release { a, b } => ("release", none(), groups(a, b)),
        Fault::Latency { a, b, ms } => ("latency", none(), format!("{} {ms} ms", groups(a, b))),
        Fault::Loss { a, b, rate } => ("loss", none(), format!("{} {rate}", groups(a, b))),
        Fault::Crash { server } => ("crash", server.clone(), none()),
        Fault::SilentDeath { server } => ("silent_death", server.clone(), none()),
        Fault::Restart { server } => ("restart", server.clone(), none()),
        Fault::Reset { a, b } => ("reset", none(), format!("{a} | {b}")),
        Fault::Pause { server } => ("pause", server.clone(), none()),
        Fault::Resume { server } => ("resume", server.clone(), none()),
    }
}
