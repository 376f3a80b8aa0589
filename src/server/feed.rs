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
use super::{Ctx, Shutdown};
use crate::net::Stream;
use crate::observe::{ConnId, Event};
use crate::protocol::{PeerMessage, Update};

pub(super) async fn serve<S: Stream>(
    mut reader: LineReader<S>,
    conn: ConnId,
    neighbour: String,
    ctx: Ctx,
    mut shutdown: Shutdown,
) {
    let sub = ctx.state.subscribe(&neighbour, ctx.tuning.link_queue);
    ctx.report(Event::FeedUp {
        conn,
        neighbour: &neighbour,
    });
    let why = publish(
        &mut reader,
        conn,
        &neighbour,
        &ctx,
        sub.id,
        sub.snapshot,
        sub.queue,
        &mut shutdown,
    )
    .await;
    ctx.state.unsubscribe(sub.id);
    ctx.report(Event::FeedDown {
        conn,
        neighbour: &neighbour,
        why,
    });
}

#[allow(clippy::too_many_arguments)]
async fn publish<S: Stream>(
    reader: &mut LineReader<S>,
    conn: ConnId,
    neighbour: &str,
    ctx: &Ctx,
    id: u64,
    snapshot: Vec<Update>,
    mut queue: mpsc::Receiver<Forward>,
    shutdown: &mut Shutdown,
) -> &'static str {
    let dead_after = ctx.dead_after();
    let every = Duration::from_millis(ctx.tuning.heartbeat_ms);
    if send(ctx, reader, conn, neighbour, &catch_up(ctx, snapshot), dead_after)
        .await
        .is_err()
    {
        return "write failed";
    }
    let mut heartbeat = interval_at(Instant::now() + every, every);
    loop {
        let outgoing = tokio::select! {
            update = queue.recv() => match update {
                Some(Forward { update, seen }) => vec![PeerMessage::Update { update, seen: seen.to_vec() }],
                None => return "queue overflowed",
            },
            frame = reader.next(dead_after, dead_after) => match frame {
                Ok(Frame::Line(line)) => {
                    ctx.state.heard(id);
                    if !resync_asked(ctx, conn, neighbour, &line) {
                        continue;
                    }
                    catch_up(ctx, ctx.state.snapshot())
                }
                Ok(Frame::TimedOut) => return "no heartbeat",
                Ok(Frame::Closed) => return "closed by neighbour",
                Ok(Frame::TooLong(_)) => return "line too long",
                Err(_) => return "read error",
            },
            _ = heartbeat.tick() => vec![PeerMessage::Ping],
            _ = shutdown.wait() => return "server shutting down",
        };
        if send(ctx, reader, conn, neighbour, &outgoing, dead_after)
            .await
            .is_err()
        {
            return "write failed";
        }
        heartbeat.reset();
    }
}

/// Everything we hold, then `SYNCED`: what a (re)subscribing neighbour, or
/// one that asks `RESYNC`, is sent first.
fn catch_up(ctx: &Ctx, snapshot: Vec<Update>) -> Vec<PeerMessage> {
    let mut messages: Vec<PeerMessage> = if crate::bug!(ctx.bugs, NoReconciliation) {
        Vec::new()
    } else {
        snapshot.into_iter().map(PeerMessage::update).collect()
    };
    messages.push(PeerMessage::Synced {
        count: messages.len() as u64,
    });
    messages
}

/// What a subscriber may say on its own link: heartbeats, and `RESYNC`
/// (returns true). Nothing it says can change our store.
fn resync_asked(ctx: &Ctx, conn: ConnId, neighbour: &str, line: &[u8]) -> bool {
    match PeerMessage::parse(line) {
        Ok(message) => {
            ctx.report(Event::PeerRecv {
                conn,
                neighbour,
                message: &message,
            });
            message == PeerMessage::Resync
        }
        Err(e) => {
            ctx.report(Event::PeerInvalid {
                conn,
                neighbour,
                line,
                error: &e,
            });
            false
        }
    }
}

/// Writes messages as one buffer. A neighbour that stops reading cannot
/// wedge us: the write gives up after `limit` and the link is dropped.
pub(super) async fn send<S: Stream>(
    ctx: &Ctx,
    reader: &mut LineReader<S>,
    conn: ConnId,
    neighbour: &str,
    messages: &[PeerMessage],
    limit: Duration,
) -> std::io::Result<()> {
    let mut buf = String::new();
    for message in messages {
        ctx.report(Event::PeerSend {
            conn,
            neighbour,
            message,
        });
        buf.push_str(&message.to_string());
        buf.push('\n');
    }
    match tokio::time::timeout(limit, reader.get_mut().write_all(buf.as_bytes())).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}
