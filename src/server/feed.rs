//! The publishing side of a link: a neighbour connected to us and said
//! `HERD HELLO <name>`. We send it everything we hold (catch-up), then every
//! update that changes our store, with heartbeats when idle. Nothing it
//! sends us on this connection can change our store: we only read its
//! heartbeats, to notice when it is gone.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::{interval_at, Instant};

use super::lines::{Frame, LineReader};
use super::state::Forward;
use super::{events, Ctx, Shutdown};
use crate::bugs::Bug;
use crate::net::Stream;
use crate::protocol::{PeerMessage, Update};

pub(super) async fn serve<S: Stream>(
    mut reader: LineReader<S>,
    neighbour: String,
    ctx: Ctx,
    mut shutdown: Shutdown,
) {
    let sub = ctx.state.subscribe(&neighbour, ctx.tuning.link_queue);
    events::feed_up(&neighbour);
    let why = publish(
        &mut reader,
        &neighbour,
        &ctx,
        sub.snapshot,
        sub.queue,
        &mut shutdown,
    )
    .await;
    ctx.state.unsubscribe(sub.id);
    events::feed_down(&neighbour, why);
}

async fn publish<S: Stream>(
    reader: &mut LineReader<S>,
    neighbour: &str,
    ctx: &Ctx,
    snapshot: Vec<Update>,
    mut queue: mpsc::Receiver<Forward>,
    shutdown: &mut Shutdown,
) -> &'static str {
    let dead_after = ctx.dead_after();
    let every = Duration::from_millis(ctx.tuning.heartbeat_ms);
    let mut catch_up: Vec<PeerMessage> = if ctx.bugs.has(Bug::NoReconciliation) {
        Vec::new()
    } else {
        snapshot.into_iter().map(PeerMessage::update).collect()
    };
    catch_up.push(PeerMessage::Synced {
        count: catch_up.len() as u64,
    });
    if send(reader, neighbour, &catch_up, dead_after).await.is_err() {
        return "write failed";
    }
    let mut heartbeat = interval_at(Instant::now() + every, every);
    loop {
        let outgoing = tokio::select! {
            update = queue.recv() => match update {
                Some(Forward { update, seen }) => PeerMessage::Update { update, seen: seen.to_vec() },
                None => return "queue overflowed",
            },
            frame = reader.next(dead_after, dead_after) => match frame {
                Ok(Frame::Line(line)) => {
                    note_received(neighbour, &line);
                    continue;
                }
                Ok(Frame::TimedOut) => return "no heartbeat",
                Ok(Frame::Closed) => return "closed by neighbour",
                Ok(Frame::TooLong(_)) => return "line too long",
                Err(_) => return "read error",
            },
            _ = heartbeat.tick() => PeerMessage::Ping,
            _ = shutdown.wait() => return "server shutting down",
        };
        if send(reader, neighbour, &[outgoing], dead_after).await.is_err() {
            return "write failed";
        }
        heartbeat.reset();
    }
}

/// What a subscriber may say on its own link: only heartbeats matter.
fn note_received(neighbour: &str, line: &[u8]) {
    match PeerMessage::parse(line) {
        Ok(message) => events::peer_message(true, neighbour, &message),
        Err(e) => {
            events::recv(neighbour, line);
            events::invalid(neighbour, &e);
        }
    }
}

/// Writes messages as one buffer. A neighbour that stops reading cannot
/// wedge us: the write gives up after `limit` and the link is dropped.
pub(super) async fn send<S: Stream>(
    reader: &mut LineReader<S>,
    neighbour: &str,
    messages: &[PeerMessage],
    limit: Duration,
) -> std::io::Result<()> {
    let mut buf = String::new();
    for message in messages {
        events::peer_message(false, neighbour, message);
        buf.push_str(&message.to_string());
        buf.push('\n');
    }
    match tokio::time::timeout(limit, reader.get_mut().write_all(buf.as_bytes())).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}
