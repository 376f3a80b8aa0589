//! The subscribing side of a link: we find the neighbour's link port (its
//! configured `link_port`, or by asking `HERD LINKPORT?` on its client
//! port), connect, prove who we are (handshake.rs), and merge every update
//! it sends, acknowledging each flooded one once our own forwards are (see
//! ack.rs). This is the only place updates from other servers enter a
//! store, so only proven (or, without a secret, configured) neighbours can
//! inject one.
//!
//! A link is declared dead when nothing (not even a heartbeat) arrives for
//! `dead_after_ms`, then rebuilt with capped, jittered exponential backoff.
//! The backoff resets only once a link has stayed up for `dead_after_ms`,
//! so a neighbour that accepts and then drops is not redialled in a hot
//! loop; and a neighbour that comes back (its own link to us says hello)
//! is redialled at once. Every (re)connect starts with the neighbour's
//! catch-up dump, which is how updates missed during an outage reach us.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha12Rng;
use tokio::time::{sleep_until, timeout, Instant};

use super::ack::{AckQueue, Done};
use super::conn::{write_within, Lines, Read};
use super::ctx::{ms, Ctx};
use super::handshake::{self, Side};
use super::wire::{split, PeerReader, PeerWriter};
use super::Shutdown;
use crate::config::{Flooding, ServerSpec};
use crate::net::{Net, Stream};
use crate::observe::{Event, Source};
use crate::protocol::PeerMessage;

/// Acknowledgements per `HERD ACK` line.
const ACKS_PER_LINE: usize = 64;

pub(super) async fn maintain<N: Net>(net: N, neighbour: ServerSpec, ctx: Ctx, mut shutdown: Shutdown) {
    let mut rng = ctx.link_rng(&neighbour.name);
    let min = ms(ctx.tuning.backoff_min_ms);
    let max = ms(ctx.tuning.backoff_max_ms).max(min);
    let name = neighbour.name.as_str();
    let mut backoff = min;
    let mut ever_up = false;
    // The port last learned by asking; a restarted neighbour has a new one.
    let mut learned: Option<u16> = None;
    loop {
        let port = neighbour.link_port.or(learned);
        let connect = async {
            let port = match port {
                Some(port) => port,
                None => discover(&net, &neighbour, &ctx).await?,
            };
            match timeout(ctx.dead_after(), net.connect(&neighbour.host, port)).await {
                Ok(Ok(stream)) => Ok((port, stream)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("connect timed out".to_string()),
            }
        };
        let connected = tokio::select! {
            connected = connect => connected,
            _ = shutdown.wait() => return,
        };
        let failure = match connected {
            Ok((port, stream)) => {
                learned = neighbour.link_port.is_none().then_some(port);
                if crate::bug!(ctx.bugs, BackoffResetOnConnect) {
                    backoff = min;
                }
                let conn = ctx.next_conn();
                let up_since = Instant::now();
                let why = follow(stream, conn, name, &ctx, &mut shutdown, &mut rng, &mut ever_up).await;
                if let Err(why) = why {
                    Some(why.to_string())
                } else {
                    if up_since.elapsed() >= ctx.dead_after() {
                        backoff = min;
                    }
                    if ctx.tuning.flooding == Flooding::Pruned && !shutdown.is_set() {
                        ctx.state.request_resync();
                    }
                    if crate::bug!(ctx.bugs, NoReconnect) && !shutdown.is_set() {
                        return std::future::pending().await;
                    }
                    None
                }
            }
            // A learned port that no longer answers: ask again at once.
            Err(_) if port.is_some() && learned.take().is_some() => continue,
            Err(why) => Some(why),
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
            _ = tokio::time::sleep(delay) => backoff = (backoff * 2).min(max),
            _ = ctx.kicked(name) => backoff = min,
            _ = shutdown.wait() => return,
        }
    }
}

/// Asks the neighbour's client port where its link port is.
async fn discover<N: Net>(net: &N, neighbour: &ServerSpec, ctx: &Ctx) -> Result<u16, String> {
    let limit = ms(ctx.tuning.handshake_timeout_ms);
    let ask = async {
        let mut stream = net
            .connect(&neighbour.host, neighbour.port)
            .await
            .map_err(|e| e.to_string())?;
        let query = format!("{}\n", PeerMessage::LinkPortQuery);
        write_within(&mut stream, query.as_bytes(), limit)
            .await
            .map_err(|e| e.to_string())?;
        let mut lines = Lines::new(stream, 64);
        match lines.next(limit, limit).await {
            Ok(Read::Line(line)) => match PeerMessage::parse(&line) {
                Ok(PeerMessage::LinkPort { port }) => Ok(port),
                _ => Err("the neighbour's client port did not name a link port".to_string()),
            },
            _ => Err("no answer about the link port".to_string()),
        }
    };
    timeout(limit, ask)
        .await
        .unwrap_or_else(|_| Err("no answer about the link port in time".to_string()))
}

/// Runs one connection: handshake, then follow the neighbour's updates
/// until the link fails. `Ok(why)` once it was up, `Err(why)` if it never got up.
async fn follow<S: Stream>(
    stream: S,
    conn: u64,
    neighbour: &str,
    ctx: &Ctx,
    shutdown: &mut Shutdown,
    rng: &mut ChaCha12Rng,
    ever_up: &mut bool,
) -> Result<&'static str, &'static str> {
    let (mut reader, mut writer) = split(stream, conn, neighbour, ctx);
    let greeting = timeout(
        ms(ctx.tuning.handshake_timeout_ms),
        handshake(ctx, &mut reader, &mut writer, rng),
    );
    tokio::select! {
        greeted = greeting => greeted.unwrap_or(Err("no handshake in time"))?,
        _ = shutdown.wait() => return Err("server shutting down"),
    }
    ctx.report(Event::LinkUp {
        conn,
        neighbour,
        again: std::mem::replace(ever_up, true),
    });
    let acks = Arc::new(AckQueue::default());
    let why = tokio::select! {
        why = read_side(ctx, &mut reader, &acks) => why,
        why = write_side(ctx, &mut writer, &acks) => why,
        _ = shutdown.wait() => "server shutting down",
    };
    ctx.report(Event::LinkDown { conn, neighbour, why });
    Ok(why)
}

/// The subscriber's half of the handshake.
async fn handshake<S: Stream>(
    ctx: &Ctx,
    reader: &mut PeerReader<S>,
    writer: &mut PeerWriter<S>,
    rng: &mut ChaCha12Rng,
) -> Result<(), &'static str> {
    let me = ctx.state.name.as_str();
    let silence = ms(ctx.tuning.handshake_timeout_ms);
    let my_nonce = handshake::nonce(rng);
    let hello = PeerMessage::Hello {
        server: me.to_string(),
        nonce: my_nonce.clone(),
    };
    writer.send(ctx, &[hello], silence).await?;
    let (server, their_nonce, mac) = match reader.next(ctx, silence).await? {
        PeerMessage::Challenge { server, nonce, mac } => (server, nonce, mac),
        _ => return Err("the neighbour did not answer with HERD CHALLENGE"),
    };
    if server != reader.neighbour {
        return Err("another server answers on the neighbour's link port");
    }
    let secret = ctx.secret.as_ref();
    let verified = handshake::verify(
        secret,
        Side::Publisher,
        &server,
        me,
        &my_nonce,
        &their_nonce,
        mac.as_deref(),
    );
    if !crate::bug!(ctx.bugs, SquatterTrusted) {
        verified?;
    }
    let proof = PeerMessage::Proof {
        mac: handshake::prove(secret, Side::Subscriber, me, &server, &their_nonce, &my_nonce),
    };
    writer.send(ctx, &[proof], silence).await
}

/// Merges what the neighbour sends; a flooded update is acknowledged once
/// our own forwards of it are.
async fn read_side<S: Stream>(ctx: &Ctx, reader: &mut PeerReader<S>, acks: &Arc<AckQueue>) -> &'static str {
    let limits = ctx.tuning.client_limits();
    loop {
        match reader.next(ctx, ctx.dead_after()).await {
            Ok(PeerMessage::Update { seq, update, seen }) => {
                // A neighbour with a longer limit than ours: not stored
                // here, and nothing to wait for.
                if let Err(e) = limits.check_client_id(&update.client) {
                    reader.invalid(ctx, update.to_string().as_bytes(), &e);
                    seq.into_iter().for_each(|seq| acks.push(seq));
                    continue;
                }
                let done = seq.map(|seq| Done::Upstream(acks.clone(), seq));
                ctx.apply(update, Source::Neighbour(&reader.neighbour), &seen, done);
            }
            Ok(PeerMessage::Dump { update }) => {
                if let Err(e) = limits.check_client_id(&update.client) {
                    reader.invalid(ctx, update.to_string().as_bytes(), &e);
                    continue;
                }
                ctx.apply(Arc::new(update), Source::Neighbour(&reader.neighbour), &[], None);
            }
            Ok(PeerMessage::Synced { .. } | PeerMessage::Ping) => {}
            Ok(other) => reader.invalid(
                ctx,
                other.to_string().as_bytes(),
                &"not expected from a publisher",
            ),
            Err(why) => return why,
        }
    }
}

/// Writes acknowledgements as they come due, `RESYNC` when asked, and a
/// heartbeat when there was nothing else to say.
async fn write_side<S: Stream>(ctx: &Ctx, writer: &mut PeerWriter<S>, acks: &AckQueue) -> &'static str {
    let heartbeat = ctx.heartbeat();
    let mut resync = ctx.state.resync_requests();
    resync.mark_unchanged();
    let pruned = ctx.tuning.flooding == Flooding::Pruned;
    let mut last_sent = Instant::now();
    loop {
        let seqs = acks.take();
        let messages: Vec<PeerMessage> = if seqs.is_empty() {
            tokio::select! {
                _ = acks.ready.notified() => continue,
                Ok(()) = resync.changed(), if pruned => vec![PeerMessage::Resync],
                _ = sleep_until(last_sent + heartbeat) => vec![PeerMessage::Ping],
            }
        } else {
            seqs.chunks(ACKS_PER_LINE)
                .map(|c| PeerMessage::Ack { seqs: c.to_vec() })
                .collect()
        };
        if let Err(why) = writer.send(ctx, &messages, ctx.dead_after()).await {
            return why;
        }
        last_sent = Instant::now();
    }
}
