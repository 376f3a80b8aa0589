//! One client connection: read whole lines, answer each in order with one
//! write. An IAMAT is answered once the herd holds it (`ack = "herd"`: see
//! ack.rs) or at once (`ack = "local"`, and then the next line is not
//! acted on until the neighbours' queues have room).

use std::sync::Arc;

use tokio::sync::oneshot;

use super::ack::Done;
use super::admission::Ticket;
use super::conn::{close_after_draining, write_within, Lines, Read};
use super::ctx::{ms, Ctx};
use super::Shutdown;
use crate::net::Stream;
use crate::observe::{ConnId, Event, Source};
use crate::places::{error_response, NearbyRequest};
use crate::protocol::{parse_client_line, verbatim, whatsat_reply, ClientCommand, PeerMessage, Skew, Update};

pub(super) async fn serve<S: Stream>(
    stream: S,
    conn: ConnId,
    ctx: Ctx,
    mut shutdown: Shutdown,
    ticket: Ticket,
) {
    let tuning = &ctx.tuning;
    let (idle, partial) = (ms(tuning.idle_timeout_ms), ms(tuning.line_timeout_ms));
    let mut lines = Lines::new(stream, tuning.max_line_bytes);
    // A read taken while the reply was held back (see below).
    let mut ahead = None;
    let why = loop {
        let read = match ahead.take() {
            Some(read) => read,
            None => tokio::select! {
                read = lines.next(idle, partial) => read,
                _ = ticket.evicted() => break "evicted: idle while every slot was taken",
                _ = shutdown.wait() => break "server shutting down",
            },
        };
        let line = match read {
            // A last command without its newline is still answered.
            Ok(Read::Line(line) | Read::Cut(line)) => line,
            Ok(Read::TooLong(prefix)) => {
                ctx.report(Event::ClientLine { conn, line: &prefix });
                ctx.report(Event::Invalid {
                    conn,
                    error: &format!("line longer than {} bytes", tuning.max_line_bytes),
                });
                let reply = refusal(&prefix);
                ctx.report(Event::Reply { conn, bytes: &reply });
                if write_within(lines.get_mut(), &reply, partial).await.is_ok() {
                    tokio::select! {
                        _ = close_after_draining(lines.get_mut(), partial) => {}
                        _ = shutdown.wait() => {}
                    }
                }
                break "line too long";
            }
            Ok(Read::TimedOut) => break "timed out",
            Ok(Read::Closed) => break "closed by client",
            Err(_) => break "read error",
        };
        ticket.busy(true);
        ctx.report(Event::ClientLine { conn, line: &line });
        let reply = respond(&ctx, conn, &line).await;
        ctx.report(Event::Reply { conn, bytes: &reply });
        // The answer is ready: a client that does not take it is idle, not
        // busy, so clients that never read cannot hold every slot.
        ticket.busy(false);
        let delivered = async {
            write_within(lines.get_mut(), &reply, partial).await?;
            if !ctx.acks_local() {
                return std::io::Result::Ok(None);
            }
            // The next command waits until the neighbours' queues have room,
            // but the next read goes on meanwhile: a client that closes (or
            // idles out) is let go now, not once the links drain, which
            // with a slow link may be never.
            let room = ctx.state.room_for_more(tuning.link_queue);
            tokio::pin!(room);
            tokio::select! {
                biased;
                _ = &mut room => Ok(None),
                read = lines.next(idle, partial) => {
                    if matches!(read, Ok(Read::Line(_) | Read::Cut(_) | Read::TooLong(_))) {
                        room.await;
                    }
                    Ok(Some(read))
                }
            }
        };
        // Biased: a fixed order draws nothing from the runtime's seeded
        // RNG, so this wait does not reorder the simulator's runs.
        tokio::select! {
            biased;
            delivered = delivered => match delivered {
                Ok(read) => ahead = read,
                Err(_) => break "write failed",
            },
            _ = ticket.evicted() => break "evicted: its reply unread while every slot was taken",
        }
    };
    ctx.report(Event::Closed { conn, why });
}

/// `AT ...` and its line ending.
fn at_reply(update: &Update) -> Vec<u8> {
    let mut reply = Vec::with_capacity(128);
    update.write_at_line(&mut reply, verbatim);
    reply.push(b'\n');
    reply
}

/// `? <line as received>`.
fn refusal(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 3);
    out.extend_from_slice(b"? ");
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

async fn respond(ctx: &Ctx, conn: ConnId, line: &[u8]) -> Vec<u8> {
    if PeerMessage::is_peer_line(line) {
        return peer_line(ctx, conn, line);
    }
    let parsed = match parse_client_line(line) {
        Err(e) if crate::bug!(ctx.bugs, FloatRangeCheck) => crate::bugs::float_ranged(line).ok_or(e),
        parsed => parsed,
    };
    // Past the syntax, a command must keep to this server's limits: client
    // IDs no longer than it stores, times not far ahead of its clock.
    let checked = parsed.and_then(|command| match crate::bug!(ctx.bugs, FutureTimeAccepted) {
        true => Ok(command),
        false => ctx
            .tuning
            .client_limits()
            .check(&command, ctx.clock.now_unix_nanos())
            .map(|()| command),
    });
    let command = match checked {
        Ok(command) => command,
        Err(e) => {
            ctx.report(Event::Invalid { conn, error: &e });
            return refusal(line);
        }
    };
    match command {
        ClientCommand::IAmAt {
            client,
            location,
            time,
        } => {
            let now = ctx.clock.now_unix_nanos();
            let skew = if crate::bug!(ctx.bugs, FloatSkew) {
                crate::bugs::float_skew(now, &time)
            } else {
                Skew::between(now, &time)
            };
            let update = Arc::new(Update {
                origin: ctx.state.name.clone(),
                skew,
                client,
                location,
                time,
            });
            let reply = at_reply(&update);
            if ctx.acks_local() || crate::bug!(ctx.bugs, AckBeforeFlood) {
                ctx.apply(update, Source::Client(conn), &[], None);
            } else {
                let (acked, heard) = oneshot::channel();
                ctx.apply(update, Source::Client(conn), &[], Some(Done::Client(acked)));
                // Fires once every reachable neighbour holds it, or gave up.
                let _ = heard.await;
            }
            reply
        }
        ClientCommand::WhatsAt {
            client,
            radius,
            bound,
        } => {
            let Some(update) = ctx.state.get(&client) else {
                ctx.report(Event::Invalid {
                    conn,
                    error: &format!(
                        "no location known for client {}",
                        crate::protocol::escape(client.as_bytes())
                    ),
                });
                return refusal(line);
            };
            let radius = if crate::bug!(ctx.bugs, RadiusInKilometres) {
                crate::bugs::kilometres_as_metres(&radius)
            } else {
                radius
            };
            let request = NearbyRequest {
                latitude: update.location.latitude(),
                longitude: update.location.longitude(),
                radius,
                bound,
            };
            let json = places_json(ctx, conn, &request).await;
            whatsat_reply(&update, &json).into_bytes()
        }
    }
}

/// A `HERD` line on the client port: only `LINKPORT?` is answered (it is
/// how neighbours find our link port); the rest is refused, so a client
/// cannot plant anything.
fn peer_line(ctx: &Ctx, conn: ConnId, line: &[u8]) -> Vec<u8> {
    match PeerMessage::parse(line) {
        Ok(PeerMessage::LinkPortQuery) => {
            format!("{}\n", PeerMessage::LinkPort { port: ctx.link_port }).into_bytes()
        }
        Ok(PeerMessage::Update { update, .. }) if crate::bug!(ctx.bugs, AtFromClients) => {
            let reply = at_reply(&update);
            ctx.apply(update, Source::Client(conn), &[], None);
            reply
        }
        _ => {
            ctx.report(Event::Invalid {
                conn,
                error: &"inter-server message on a client connection",
            });
            refusal(line)
        }
    }
}

/// Asks Places, bounded by the configured deadline; the answer (or the
/// error in the legacy shape) pretty-printed.
async fn places_json(ctx: &Ctx, conn: ConnId, request: &NearbyRequest) -> String {
    let limit = ms(ctx.tuning.places_timeout_ms);
    let mut answer = match tokio::time::timeout(limit, ctx.places.nearby(request)).await {
        Ok(answer) => answer,
        Err(_) => error_response(
            "UNKNOWN_ERROR",
            &format!("Places did not answer within {} ms", ctx.tuning.places_timeout_ms),
        ),
    };
    if let Some(results) = answer.get_mut("results").and_then(|r| r.as_array_mut()) {
        results.truncate(request.bound as usize);
    }
    let status = answer.get("status").and_then(|s| s.as_str()).unwrap_or("");
    ctx.report(Event::Places {
        conn,
        status,
        radius_m: &request.radius.metres_text(),
        bound: request.bound,
    });
    serde_json::to_string_pretty(&answer).unwrap_or_else(|_| "{}".to_string())
}
