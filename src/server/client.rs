//! One client connection: read whole lines, answer each in order with one
//! write. A first line `HERD HELLO <neighbour>` turns the connection into
//! that neighbour's feed instead (see feed.rs).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::lines::{Frame, LineReader};
use super::{feed, Ctx, Shutdown};
use crate::net::Stream;
use crate::observe::{ConnId, Event, Role, Source};
use crate::places::{error_response, NearbyRequest};
use crate::protocol::{parse_client_line, whatsat_reply, ClientCommand, PeerMessage, Skew, Update};

/// Serves one accepted connection. With `neighbours_only` (every client
/// slot was taken), the first line must be a neighbour's `HERD HELLO`;
/// anything else closes the connection without a reply.
pub(super) async fn serve<S: Stream>(
    stream: S,
    peer: String,
    ctx: Ctx,
    mut shutdown: Shutdown,
    neighbours_only: bool,
) {
    let conn = ctx.next_conn();
    ctx.report(Event::Opened {
        conn,
        role: Role::Client,
        peer: &peer,
    });
    let tuning = &ctx.tuning;
    let (idle, partial) = if neighbours_only {
        // A neighbour says hello at once; do not let a client sit in a spare slot.
        (ms(tuning.dead_after_ms), ms(tuning.dead_after_ms))
    } else {
        (ms(tuning.idle_timeout_ms), ms(tuning.line_timeout_ms))
    };
    let mut reader = LineReader::new(stream, tuning.max_line_bytes);
    let mut first_line = true;
    let why = loop {
        let frame = tokio::select! {
            frame = reader.next(idle, partial) => frame,
            _ = shutdown.wait() => break "server shutting down",
        };
        let line = match frame {
            Ok(Frame::Line(line)) => line,
            Ok(Frame::TooLong(prefix)) => {
                ctx.report(Event::ClientLine { conn, line: &prefix });
                ctx.report(Event::Invalid {
                    conn,
                    error: &format!("line longer than {} bytes", tuning.max_line_bytes),
                });
                if write_reply(&ctx, &mut reader, conn, &refusal(&prefix), partial)
                    .await
                    .is_ok()
                {
                    close_after_draining(reader.get_mut(), partial, &mut shutdown).await;
                }
                break "line too long";
            }
            Ok(Frame::TimedOut) => break "timed out",
            Ok(Frame::Closed) => break "closed by client",
            Err(_) => break "read error",
        };
        ctx.report(Event::ClientLine { conn, line: &line });
        if std::mem::take(&mut first_line) {
            if let Some(neighbour) = hello_from_neighbour(&ctx, &line) {
                return feed::serve(reader, conn, neighbour, ctx, shutdown).await;
            }
            if neighbours_only {
                break "server full";
            }
        }
        let reply = respond(&ctx, conn, &line).await;
        if write_reply(&ctx, &mut reader, conn, &reply, partial)
            .await
            .is_err()
        {
            break "write failed";
        }
    };
    ctx.report(Event::Closed { conn, why });
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

/// Writes one whole reply in one write, so a client that reads once after
/// a half-close gets all of it. A client that never reads cannot hold the
/// task forever: the write gives up after `limit`.
async fn write_reply<S: Stream>(
    ctx: &Ctx,
    reader: &mut LineReader<S>,
    conn: ConnId,
    reply: &[u8],
    limit: Duration,
) -> std::io::Result<()> {
    ctx.report(Event::Reply { conn, bytes: reply });
    let stream = reader.get_mut();
    match tokio::time::timeout(limit, stream.write_all(reply)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Closing with unread input makes TCP send a reset, which can overtake
/// (and destroy) the reply just written. So: send our FIN, then read and
/// discard what the client still sends, up to a bound in bytes and time.
async fn close_after_draining<S: Stream>(stream: &mut S, limit: Duration, shutdown: &mut Shutdown) {
    const DRAIN_BYTES: usize = 1 << 20;
    let _ = stream.shutdown().await;
    let drain = async {
        let mut scratch = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    };
    tokio::select! {
        _ = tokio::time::timeout(limit, drain) => {}
        _ = shutdown.wait() => {}
    }
}

/// The neighbour named by a `HERD HELLO` first line, if it is one of ours.
fn hello_from_neighbour(ctx: &Ctx, line: &[u8]) -> Option<String> {
    match PeerMessage::parse(line) {
        Ok(PeerMessage::Hello { server }) if ctx.state.herd.is_link(&ctx.state.name, &server) => Some(server),
        _ => None,
    }
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
    // Inter-server messages are only read on links this server opened to
    // its neighbours; on a client connection they are refused outright.
    if crate::bug!(ctx.bugs, AtFromClients) {
        if let Ok(PeerMessage::Update { update, .. }) = PeerMessage::parse(line) {
            let reply = format!("{update}\n");
            ctx.apply(update, Source::Client(conn), &[]);
            return reply.into_bytes();
        }
    }
    if PeerMessage::is_peer_line(line) {
        ctx.report(Event::Invalid {
            conn,
            error: &"inter-server message on a client connection",
        });
        return refusal(line);
    }
    let command = match parse_client_line(line) {
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
            let update = Update {
                origin: ctx.state.name.clone(),
                skew,
                client,
                location,
                time,
            };
            let reply = format!("{update}\n");
            ctx.apply(update, Source::Client(conn), &[]);
            reply.into_bytes()
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
