//! Pairing the messages servers send each other with their receipts.
//!
//! Per direction and channel, in order (TCP is FIFO per connection): a
//! receive takes the earliest unpaired send of the same message sent since
//! the subscriber's latest `link_up` for that pair (a link carries one
//! connection at a time; a handshake, which comes before `link_up`, is
//! unique by its nonces). Sends left unpaired were lost (a partition wedged
//! their connection, or the receiver died). Heartbeats are all alike and
//! travel both ways on both connections of a pair, so a heartbeat's receipt
//! takes the latest unpaired one sent to it.

use std::collections::BTreeMap;
use std::time::Duration;

use herd::protocol::PeerMessage;

use super::{Kind, Message};
use crate::observe::record::{Record, ServerEvent, What};

/// Which queue of sends a receive is paired from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    /// Publisher to subscriber (updates, the end of a dump).
    Down,
    /// Subscriber to publisher (hello, resync).
    Up,
    Ping,
    Other,
}

fn channel(message: &PeerMessage) -> Channel {
    match message {
        PeerMessage::Update { .. }
        | PeerMessage::Dump { .. }
        | PeerMessage::Synced { .. }
        | PeerMessage::Challenge { .. } => Channel::Down,
        PeerMessage::Hello { .. }
        | PeerMessage::Proof { .. }
        | PeerMessage::Ack { .. }
        | PeerMessage::Resync => Channel::Up,
        PeerMessage::Ping => Channel::Ping,
        #[allow(unreachable_patterns)]
        _ => Channel::Other,
    }
}

fn kind(message: &PeerMessage) -> Kind {
    match message {
        PeerMessage::Update { .. } => Kind::Update,
        PeerMessage::Dump { .. } | PeerMessage::Synced { .. } => Kind::CatchUp,
        PeerMessage::Hello { .. } | PeerMessage::Challenge { .. } | PeerMessage::Proof { .. } => Kind::Hello,
        PeerMessage::Ack { .. } => Kind::Ack,
        PeerMessage::Ping => Kind::Heartbeat,
        _ => Kind::Other,
    }
}

struct Send {
    at: Duration,
    message: PeerMessage,
    kind: Kind,
    paired: bool,
}

struct Receive {
    from: String,
    to: String,
    at: Duration,
    message: PeerMessage,
}

/// Every message between servers, paired; and the median delay of the
/// paired ones.
pub(super) fn pair(records: &[Record], servers: &[String]) -> (Vec<Message>, Duration) {
    let is_server = |name: &str| servers.iter().any(|s| s == name);
    // Sends per (from, to, channel), and receives in order.
    let mut sends: BTreeMap<(String, String, Channel), Vec<Send>> = BTreeMap::new();
    let mut receives: Vec<Receive> = Vec::new();
    // Subscriber `link_up` times per (subscriber, publisher).
    let mut link_ups: BTreeMap<(String, String), Vec<Duration>> = BTreeMap::new();
    for r in records {
        let What::Server { event, .. } = &r.what else {
            continue;
        };
        let me = r.host.to_string();
        match event {
            ServerEvent::LinkUp { neighbour, .. } => {
                link_ups.entry((me, neighbour.clone())).or_default().push(r.at);
            }
            ServerEvent::PeerSend {
                neighbour, message, ..
            } if is_server(neighbour) => {
                sends
                    .entry((me, neighbour.clone(), channel(message)))
                    .or_default()
                    .push(Send {
                        at: r.at,
                        message: message.clone(),
                        kind: kind(message),
                        paired: false,
                    });
            }
            ServerEvent::PeerRecv {
                neighbour, message, ..
            } if is_server(neighbour) => {
                receives.push(Receive {
                    from: neighbour.clone(),
                    to: me,
                    at: r.at,
                    message: message.clone(),
                });
            }
            _ => {}
        }
    }

    let mut messages = Vec::new();
    let mut delays = Vec::new();
    let mut unpaired = Vec::new();
    for receive in receives {
        let ch = channel(&receive.message);
        let (subscriber, publisher) = match ch {
            Channel::Down => (&receive.to, &receive.from),
            _ => (&receive.from, &receive.to),
        };
        // A handshake comes before its `link_up`; its nonces make each
        // message unique anyway.
        let since = link_ups
            .get(&(subscriber.clone(), publisher.clone()))
            .filter(|_| kind(&receive.message) != Kind::Hello)
            .and_then(|ups| ups.iter().rev().find(|&&t| t <= receive.at).copied())
            .unwrap_or_default();
        let queue = sends
            .entry((receive.from.clone(), receive.to.clone(), ch))
            .or_default();
        let found = if ch == Channel::Ping {
            queue.iter_mut().rev().find(|s| !s.paired && s.at <= receive.at)
        } else {
            queue
                .iter_mut()
                .find(|s| !s.paired && s.at >= since && s.at <= receive.at && s.message == receive.message)
        };
        match found {
            Some(send) => {
                send.paired = true;
                delays.push(receive.at - send.at);
                messages.push(message(send.kind, &receive, Some(send.at), Some(receive.at)));
            }
            None => unpaired.push(receive),
        }
    }
    for ((from, to, _), queue) in &sends {
        for send in queue.iter().filter(|s| !s.paired) {
            let lost = Receive {
                from: from.clone(),
                to: to.clone(),
                at: send.at,
                message: send.message.clone(),
            };
            messages.push(message(send.kind, &lost, Some(send.at), None));
        }
    }
    for receive in unpaired {
        messages.push(message(kind(&receive.message), &receive, None, Some(receive.at)));
    }
    delays.sort();
    let median = delays
        .get(delays.len() / 2)
        .copied()
        .unwrap_or(Duration::from_millis(1));
    (messages, median)
}

fn message(kind: Kind, r: &Receive, sent: Option<Duration>, received: Option<Duration>) -> Message {
    Message {
        kind,
        from: r.from.clone(),
        to: r.to.clone(),
        text: r.message.to_string(),
        wire: Some(r.message.clone()),
        sent,
        received,
    }
}
