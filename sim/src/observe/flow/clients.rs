//! Pairing what clients sent with what servers received, and servers'
//! replies with their arrival, per connection: the server knows the client
//! by its host and port, and the client host records the same port.
//!
//! A line the server received left the client with the client's last write
//! on that connection before it arrived. A reply arrived when the client
//! had read as many bytes on the connection as the server had written up
//! to and including it; one the client never read is drawn as lost.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Kind, Message};
use crate::observe::record::{ClientEvent, ConnId, Record, ServerEvent, What};
use crate::observe::trace::escaped;

/// One client connection, seen from the server: (client host, port).
type Conn = (String, u16);

#[derive(Default)]
struct ClientSide {
    /// When each write left.
    writes: Vec<Duration>,
    /// When each read came in, with the bytes read on the connection so far.
    reads: Vec<(Duration, usize)>,
}

/// Every line on a client connection, paired; and the client hosts in
/// order of appearance.
pub(super) fn pair(records: &[Record], servers: &[String]) -> (Vec<Message>, Vec<String>) {
    let is_server = |name: &str| servers.iter().any(|s| s == name);
    let mut client_side: BTreeMap<Conn, ClientSide> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in records {
        let What::Client(event) = &r.what else {
            continue;
        };
        if !order.iter().any(|h| **h == *r.host) {
            order.push(r.host.to_string());
        }
        match event {
            ClientEvent::Sent { port, .. } => client_side
                .entry((r.host.to_string(), *port))
                .or_default()
                .writes
                .push(r.at),
            ClientEvent::Received { port, bytes, .. } => {
                let side = client_side.entry((r.host.to_string(), *port)).or_default();
                let so_far = side.reads.last().map_or(0, |(_, n)| *n) + bytes.len();
                side.reads.push((r.at, so_far));
            }
            _ => {}
        }
    }

    // Per server incarnation, its client connections by number.
    let mut conns: BTreeMap<(&str, u32, ConnId), (Conn, usize)> = BTreeMap::new();
    let mut messages = Vec::new();
    for r in records {
        let What::Server { incarnation, event } = &r.what else {
            continue;
        };
        let server = &*r.host;
        match event {
            ServerEvent::Opened { conn, peer, .. } => {
                if let (Some(host), Some(port)) = (&peer.host, peer.port) {
                    if !is_server(host) {
                        conns.insert((server, *incarnation, *conn), ((host.clone(), port), 0));
                    }
                }
            }
            ServerEvent::ClientLine { conn, line } => {
                let Some(((host, port), _)) = conns.get(&(server, *incarnation, *conn)) else {
                    continue;
                };
                let left = client_side
                    .get(&(host.clone(), *port))
                    .and_then(|c| c.writes.iter().rev().find(|&&t| t <= r.at).copied());
                messages.push(Message {
                    kind: Kind::Client,
                    from: host.clone(),
                    to: server.to_string(),
                    text: escaped(line),
                    wire: None,
                    sent: left,
                    received: Some(r.at),
                });
            }
            ServerEvent::Reply { conn, bytes } => {
                let Some(((host, port), written)) = conns.get_mut(&(server, *incarnation, *conn)) else {
                    continue;
                };
                *written += bytes.len();
                let arrived = client_side
                    .get(&(host.clone(), *port))
                    .and_then(|c| c.reads.iter().find(|(_, n)| *n >= *written).map(|(t, _)| *t));
                messages.push(Message {
                    kind: Kind::Reply,
                    from: server.to_string(),
                    to: host.clone(),
                    text: escaped(bytes),
                    wire: None,
                    sent: Some(r.at),
                    received: arrived,
                });
            }
            _ => {}
        }
    }
    (messages, order)
}
