//! Inter-server messages over one link connection, for both its ends: the
//! reading half hands out valid messages (reporting and skipping invalid
//! lines, so one bad line never costs a link), the writing half writes a
//! batch of messages in one write, under a deadline.

use std::time::Duration;

use tokio::io::{ReadHalf, WriteHalf};

use super::conn::{write_within, Lines, Read};
use super::ctx::Ctx;
use crate::net::Stream;
use crate::observe::{ConnId, Event};
use crate::protocol::{verbatim, PeerMessage};

/// The longest inter-server line we read. An update carries a client ID as
/// long as a client line may be, plus the rest of the record; a neighbour
/// whose limits differ from ours only costs the lines past it, never the
/// link.
pub(super) fn max_peer_line(ctx: &Ctx) -> usize {
    ctx.tuning.max_line_bytes * 2 + 256
}

pub(super) struct PeerReader<S> {
    lines: Lines<ReadHalf<S>>,
    pub conn: ConnId,
    /// The neighbour's name once known (for events).
    pub neighbour: String,
}

pub(super) struct PeerWriter<S> {
    half: WriteHalf<S>,
    conn: ConnId,
    pub neighbour: String,
    buf: Vec<u8>,
}

/// Splits a link connection into its two ends.
pub(super) fn split<S: Stream>(
    stream: S,
    conn: ConnId,
    neighbour: &str,
    ctx: &Ctx,
) -> (PeerReader<S>, PeerWriter<S>) {
    let (read, write) = tokio::io::split(stream);
    (
        PeerReader {
            lines: Lines::new(read, max_peer_line(ctx)),
            conn,
            neighbour: neighbour.to_string(),
        },
        PeerWriter {
            half: write,
            conn,
            neighbour: neighbour.to_string(),
            buf: Vec::new(),
        },
    )
}

impl<S: Stream> PeerReader<S> {
    /// The next valid message, or why the link ended: nothing for `silence`.
    pub async fn next(&mut self, ctx: &Ctx, silence: Duration) -> Result<PeerMessage, &'static str> {
        let message = self.next_unreported(ctx, silence).await?;
        self.received(ctx, &message);
        Ok(message)
    }

    /// `next`, leaving the `PeerRecv` event to the caller (a hello, whose
    /// sender is known only once it is read).
    pub async fn next_unreported(
        &mut self,
        ctx: &Ctx,
        silence: Duration,
    ) -> Result<PeerMessage, &'static str> {
        loop {
            let line = match self.lines.next(silence, silence).await {
                Ok(Read::Line(line)) => line,
                Ok(Read::Cut(line)) => {
                    self.invalid(ctx, &line, &"cut short: the neighbour closed in the middle of it");
                    continue;
                }
                Ok(Read::TooLong(prefix)) => {
                    self.invalid(ctx, &prefix, &"line too long for a link");
                    if crate::bug!(ctx.bugs, LongPeerLineDropsLink) {
                        return Err("line too long");
                    }
                    continue;
                }
                Ok(Read::TimedOut) => return Err("no heartbeat"),
                Ok(Read::Closed) => return Err("closed by neighbour"),
                Err(_) => return Err("read error"),
            };
            match PeerMessage::parse(&line) {
                Ok(message) => return Ok(message),
                Err(e) => self.invalid(ctx, &line, &e),
            }
        }
    }

    pub fn received(&self, ctx: &Ctx, message: &PeerMessage) {
        ctx.report(Event::PeerRecv {
            conn: self.conn,
            neighbour: &self.neighbour,
            message,
        });
    }

    pub fn invalid(&self, ctx: &Ctx, line: &[u8], error: &dyn std::fmt::Display) {
        ctx.report(Event::PeerInvalid {
            conn: self.conn,
            neighbour: &self.neighbour,
            line,
            error,
        });
    }
}

impl<S: Stream> PeerWriter<S> {
    /// Writes `messages` as one buffer. A neighbour that stops reading
    /// cannot wedge us: the write gives up after `limit`.
    pub async fn send(
        &mut self,
        ctx: &Ctx,
        messages: &[PeerMessage],
        limit: Duration,
    ) -> Result<(), &'static str> {
        self.buf.clear();
        for message in messages {
            ctx.report(Event::PeerSend {
                conn: self.conn,
                neighbour: &self.neighbour,
                message,
            });
            message.write_to(&mut self.buf, verbatim);
            self.buf.push(b'\n');
        }
        write_within(&mut self.half, &self.buf, limit)
            .await
            .map_err(|_| "write failed")
    }
}
