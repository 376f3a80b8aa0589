//! The publishing side of a link: a neighbour connected to our link port,
//! proved who it is (handshake.rs), and subscribed. We stream it everything
//! we hold (catch-up, in bounded chunks), then every update that changes
//! our store, with heartbeats when idle. What it sends us (acknowledgements,
//! heartbeats, `RESYNC`) can never change our store.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;
use tokio::time::{sleep_until, timeout, Instant};

use super::admission::Ticket;
use super::ctx::{ms, Ctx};
use super::handshake::{self, Side};
use super::outbox::Outbox;
use super::wire::{split, PeerReader, PeerWriter};
use super::Shutdown;
use crate::config::Flooding;
use crate::net::Stream;
use crate::observe::{ConnId, Event};
use crate::protocol::PeerMessage;

pub(super) async fn serve<S: Stream>(
    stream: S,
    conn: ConnId,
    ctx: Ctx,
    mut shutdown: Shutdown,
    ticket: Ticket,
) {
    let held = crate::bug!(ctx.bugs, LinkSlotsHeld);
    if held {
        // A busy slot is never evicted.
        ticket.busy(true);
    }
    let (mut reader, mut writer) = split(stream, conn, "", &ctx);
    let greeting = timeout(
        ms(ctx.tuning.handshake_timeout_ms),
        handshake(&ctx, &mut reader, &mut writer),
    );
    let neighbour = tokio::select! {
        greeted = greeting => match greeted {
            Ok(Ok(neighbour)) => neighbour,
            Ok(Err((claimed, why))) => return refuse(&ctx, conn, &claimed, why),
            Err(_) => return refuse(&ctx, conn, &reader.neighbour, "no handshake in time"),
        },
        // The pool bounds handshakes only if the oldest really goes.
        _ = ticket.evicted() => return refuse(&ctx, conn, &reader.neighbour, "gave way to a newer handshake"),
        _ = shutdown.wait() => return ctx.report(Event::Closed { conn, why: "server shutting down" }),
    };
    // Proven: out of the pool of handshakes (unless its slot is held for
    // life), into the one feed it may have.
    let _slot = held.then_some(ticket);
    let (sub, older) = ctx.state.subscribe(&neighbour);
    for outbox in older {
        outbox.give_up(true);
    }
    ctx.report(Event::FeedUp {
        conn,
        neighbour: &neighbour,
    });
    // It is back: our own link to it need not wait out its backoff.
    ctx.kick(&neighbour);
    let resync = Resync::default();
    let why = tokio::select! {
        why = read_side(&ctx, &mut reader, &sub.outbox, &resync) => why,
        why = write_side(&ctx, &mut writer, &sub.outbox, &resync) => why,
        _ = shutdown.wait() => "server shutting down",
    };
    ctx.state.unsubscribe(sub.id);
    sub.outbox.give_up(true);
    ctx.report(Event::FeedDown {
        conn,
        neighbour: &neighbour,
        why,
    });
    ctx.report(Event::Closed { conn, why });
}

fn refuse(ctx: &Ctx, conn: ConnId, claimed: &str, why: &str) {
    ctx.report(Event::Refused { conn, claimed, why });
    ctx.report(Event::Closed { conn, why: "refused" });
}

/// The publisher's half of the handshake; the neighbour's name, or what it
/// claimed to be and why it was refused.
async fn handshake<S: Stream>(
    ctx: &Ctx,
    reader: &mut PeerReader<S>,
    writer: &mut PeerWriter<S>,
) -> Result<String, (String, &'static str)> {
    let me = ctx.state.name.as_str();
    let silence = ms(ctx.tuning.handshake_timeout_ms);
    let hello = reader.next_unreported(ctx, silence).await;
    if let Ok(PeerMessage::Hello { server, .. }) = &hello {
        // Named as it claims to be, proven or not.
        reader.neighbour.clone_from(server);
        writer.neighbour.clone_from(server);
    }
    if let Ok(message) = &hello {
        reader.received(ctx, message);
    }
    let (server, their_nonce) = match hello {
        Ok(PeerMessage::Hello { server, nonce }) => (server, nonce),
        Ok(_) => return Err((String::new(), "first line is not HERD HELLO")),
        Err(why) => return Err((String::new(), why)),
    };
    if !ctx.state.herd.is_link(me, &server) {
        return Err((server, "not a neighbour of this server"));
    }
    let my_nonce = ctx.nonce();
    let challenge = PeerMessage::Challenge {
        server: me.to_string(),
        mac: handshake::prove(
            ctx.secret.as_ref(),
            Side::Publisher,
            me,
            &server,
            &their_nonce,
            &my_nonce,
        ),
        nonce: my_nonce.clone(),
    };
    if let Err(why) = writer.send(ctx, &[challenge], silence).await {
        return Err((server, why));
    }
    let proof = match reader.next(ctx, silence).await {
        Ok(PeerMessage::Proof { mac }) => mac,
        Ok(_) => return Err((server, "second line is not HERD PROOF")),
        Err(why) => return Err((server, why)),
    };
    let secret = ctx.secret.as_ref();
    if crate::bug!(ctx.bugs, HelloUnverified) {
        return Ok(server);
    }
    match handshake::verify(
        secret,
        Side::Subscriber,
        &server,
        me,
        &my_nonce,
        &their_nonce,
        proof.as_deref(),
    ) {
        Ok(()) => Ok(server),
        Err(why) => Err((server, why)),
    }
}

/// A `RESYNC` asked for and not yet begun: requests coalesce into one.
#[derive(Default)]
struct Resync {
    asked: AtomicBool,
    /// Dumps owed one per request (the uncoalesced-resync bug only).
    extra: AtomicU64,
    wake: Notify,
}

/// Reads acknowledgements, heartbeats and `RESYNC`; gives up on
/// acknowledgements once none has come for `ack_timeout_ms` while some were
/// owed (a neighbour that is cut off, stopped, or whose link is wedged; one
/// that is merely busy keeps acknowledging, and is waited for).
async fn read_side<S: Stream>(
    ctx: &Ctx,
    reader: &mut PeerReader<S>,
    outbox: &Outbox,
    resync: &Resync,
) -> &'static str {
    let ack_timeout = ms(ctx.tuning.ack_timeout_ms);
    // Since when acknowledgements have been owed with none arriving.
    let mut stalled_since: Option<Instant> = None;
    loop {
        stalled_since = outbox
            .has_waiters()
            .then(|| stalled_since.unwrap_or_else(Instant::now));
        let message = tokio::select! {
            message = reader.next(ctx, ctx.dead_after()) => message,
            _ = outbox.waiting.notified(), if stalled_since.is_none() && !crate::bug!(ctx.bugs, AckTimerOnRead) => continue,
            _ = sleep_until(stalled_since.unwrap_or_else(Instant::now) + ack_timeout), if stalled_since.is_some() => {
                let count = outbox.give_up(false);
                if count > 0 {
                    ctx.report(Event::AckGaveUp { neighbour: &reader.neighbour, count });
                }
                stalled_since = None;
                continue;
            }
        };
        outbox.heard();
        match message {
            Ok(PeerMessage::Ack { seqs }) => {
                seqs.into_iter().for_each(|seq| outbox.acked(seq));
                stalled_since = None;
            }
            Ok(PeerMessage::Ping) => {}
            Ok(PeerMessage::Resync) if crate::bug!(ctx.bugs, UncoalescedResync) => {
                resync.extra.fetch_add(1, Ordering::Relaxed);
                resync.wake.notify_one();
            }
            // Only pruned flooding can lose an update on a dead link.
            Ok(PeerMessage::Resync) if ctx.tuning.flooding == Flooding::Pruned => {
                resync.asked.store(true, Ordering::Relaxed);
                resync.wake.notify_one();
            }
            Ok(other) => reader.invalid(
                ctx,
                other.to_string().as_bytes(),
                &"not expected from a subscriber",
            ),
            Err(why) => return why,
        }
    }
}

/// Where a catch-up dump has got to.
struct Dump {
    after: Option<String>,
    sent: u64,
}

/// Writes the outbox and the catch-up dump, a bounded batch of each per
/// write, with a deadline per write rather than per dump.
async fn write_side<S: Stream>(
    ctx: &Ctx,
    writer: &mut PeerWriter<S>,
    outbox: &Outbox,
    resync: &Resync,
) -> &'static str {
    let heartbeat = ctx.heartbeat();
    let chunk = ctx.tuning.catch_up_chunk.max(1);
    let mut dump = Some(Dump { after: None, sent: 0 });
    let mut last_sent = Instant::now();
    // Reused for every batch.
    let mut messages: Vec<PeerMessage> = Vec::new();
    loop {
        if outbox.is_closed() {
            return "replaced by a newer link from the same neighbour";
        }
        if crate::bug!(ctx.bugs, QueueOverflowDropsLink) && outbox.pending_len() > ctx.tuning.link_queue {
            return "queue overflowed";
        }
        messages.clear();
        outbox.take_batch(chunk, |seq, f| {
            messages.push(PeerMessage::Update {
                seq,
                update: f.update,
                seen: f.seen.map_or_else(Vec::new, |seen| seen.to_vec()),
            })
        });
        // A dump chunk rides along with every batch, so a dump finishes
        // however busy the feed is.
        if let Some(d) = &mut dump {
            let bugs = (
                crate::bug!(ctx.bugs, NoReconciliation),
                crate::bug!(ctx.bugs, WholeDump),
            );
            let updates = match bugs {
                (true, _) => Vec::new(),
                (_, true) => ctx.state.snapshot(),
                _ => ctx.state.chunk_after(d.after.as_deref(), chunk),
            };
            let last = updates.len() < chunk || crate::bug!(ctx.bugs, WholeDump);
            d.after = updates.last().map(|u| u.client.clone());
            d.sent += updates.len() as u64;
            messages.extend(updates.into_iter().map(|update| PeerMessage::Dump { update }));
            if last {
                messages.push(PeerMessage::Synced { count: d.sent });
                dump = None;
            }
        } else if messages.is_empty() && resync.asked.swap(false, Ordering::Relaxed) {
            dump = Some(Dump { after: None, sent: 0 });
            continue;
        } else if resync.extra.load(Ordering::Relaxed) > 0 {
            resync.extra.fetch_sub(1, Ordering::Relaxed);
            dump = Some(Dump { after: None, sent: 0 });
            continue;
        }
        if !messages.is_empty() {
            if let Err(why) = writer.send(ctx, &messages, ctx.dead_after()).await {
                return why;
            }
            last_sent = Instant::now();
            // A write to a socket with room completes at once, and tokio
            // lets a task make 128 of them per turn: a whole dump, or many,
            // while every heartbeat of this server waits. One batch per turn.
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = outbox.ready.notified() => {}
            _ = resync.wake.notified() => {}
            _ = sleep_until(last_sent + heartbeat) => {
                if let Err(why) = writer.send(ctx, &[PeerMessage::Ping], ctx.dead_after()).await {
                    return why;
                }
                last_sent = Instant::now();
            }
        }
    }
}
