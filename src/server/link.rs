//! The subscribing side of a link: we connect to a neighbour, say
//! `HERD HELLO <us>`, and merge every update it sends. This is the only
//! place updates from other servers enter a store, so only configured
//! neighbours (the addresses in the herd config) can inject one.
//!
//! A link is declared dead when nothing (not even a heartbeat) arrives for
//! `dead_after_ms`, then rebuilt with capped, jittered exponential backoff.
//! Every (re)connect starts with the neighbour's full catch-up dump, which
//! is how updates missed during an outage or a restart reach us.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::{interval_at, Instant};

use super::feed::send;
use super::lines::{Frame, LineReader};
use super::{Ctx, Shutdown};
use crate::config::{Flooding, ServerSpec};
use crate::net::{Net, Stream};
use crate::observe::{ConnId, Event, Source};
use crate::protocol::PeerMessage;

pub(super) async fn maintain<N: Net>(
    net: N,
    neighbour: ServerSpec,
    ctx: Ctx,
    mut shutdown: Shutdown,
    seed: u64,
) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let min = Duration::from_millis(ctx.tuning.backoff_min_ms);
    let max = Duration::from_millis(ctx.tuning.backoff_max_ms.max(ctx.tuning.backoff_min_ms));
    let dead_after = Duration::from_millis(ctx.tuning.dead_after_ms);
    let name = neighbour.name.as_str();
    let mut backoff = min;
    let mut ever_up = false;
    loop {
        let connect = tokio::time::timeout(dead_after, net.connect(&neighbour.host, neighbour.port));
        let failure = tokio::select! {
            connected = connect => match connected {
                Ok(Ok(stream)) => {
                    let conn = ctx.next_conn();
                    ctx.report(Event::LinkUp { conn, neighbour: name, again: ever_up });
                    ever_up = true;
                    backoff = min;
                    let why = follow(stream, conn, name, &ctx, &mut shutdown).await;
                    ctx.report(Event::LinkDown { conn, neighbour: name, why });
                    if ctx.tuning.flooding == Flooding::Pruned && !shutdown.is_set() {
                        ctx.state.request_resync();
                    }
                    if crate::bug!(ctx.bugs, NoReconnect) && !shutdown.is_set() {
                        return std::future::pending().await;
                    }
                    None
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("connect timed out".to_string()),
            },
            _ = shutdown.wait() => return,
        };
        if shutdown.is_set() {
            return;
        }
        // Equal jitter: half fixed, half random, so a herd that lost a
        // server does not reconnect to it in lockstep.
        let half = backoff / 2;
        let delay = half + half.mul_f64(rng.random::<f64>());
        if let Some(why) = failure {
            ctx.report(Event::LinkRetry {
                neighbour: name,
                why: &why,
                delay_ms: delay.as_millis() as u64,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait() => return,
        }
        backoff = (backoff * 2).min(max);
    }
}

/// Reads one established link until it fails; returns why it ended.
async fn follow<S: Stream>(
    stream: S,
    conn: ConnId,
    neighbour: &str,
    ctx: &Ctx,
    shutdown: &mut Shutdown,
) -> &'static str {
    let dead_after = ctx.dead_after();
    let every = Duration::from_millis(ctx.tuning.heartbeat_ms);
    // Room for an update whose client ID is as long as a client line may be.
    let max_line = ctx.tuning.max_line_bytes * 2 + 256;
    let mut reader = LineReader::new(stream, max_line);
    let hello = PeerMessage::Hello {
        server: ctx.state.name.clone(),
    };
    if send(ctx, &mut reader, conn, neighbour, &[hello], dead_after)
        .await
        .is_err()
    {
        return "write failed";
    }
    let mut heartbeat = interval_at(Instant::now() + every, every);
    let mut resync = ctx.state.resync_requests();
    resync.mark_unchanged();
    loop {
        tokio::select! {
            Ok(()) = resync.changed() => {
                if send(ctx, &mut reader, conn, neighbour, &[PeerMessage::Resync], dead_after).await.is_err() {
                    return "write failed";
                }
            }
            frame = reader.next(dead_after, dead_after) => match frame {
                Ok(Frame::Line(line)) => receive(ctx, conn, neighbour, &line),
                Ok(Frame::TimedOut) => return "no heartbeat",
                Ok(Frame::Closed) => return "closed by neighbour",
                Ok(Frame::TooLong(_)) => return "line too long",
                Err(_) => return "read error",
            },
            _ = heartbeat.tick() => {
                if send(ctx, &mut reader, conn, neighbour, &[PeerMessage::Ping], dead_after).await.is_err() {
                    return "write failed";
                }
            }
            _ = shutdown.wait() => return "server shutting down",
        }
    }
}

fn receive(ctx: &Ctx, conn: ConnId, neighbour: &str, line: &[u8]) {
    match PeerMessage::parse(line) {
        Ok(message) => {
            ctx.report(Event::PeerRecv {
                conn,
                neighbour,
                message: &message,
            });
            if let PeerMessage::Update { update, seen } = message {
                ctx.apply(update, Source::Neighbour(neighbour), &seen);
            }
        }
        Err(e) => ctx.report(Event::PeerInvalid {
            conn,
            neighbour,
            line,
            error: &e,
        }),
    }
}
