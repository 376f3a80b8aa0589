//! One connection's I/O: whole lines in, under an idle deadline and a
//! deadline for finishing a started line; whole buffers out, under a write
//! deadline. Client sessions, links and feeds all read and write through it.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{sleep_until, Instant};
use tokio_util::codec::FramedRead;

use super::codec::{Frame, LineCodec};

/// What the next read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Line(Bytes),
    /// A last line without its newline (see `Frame::Cut`).
    Cut(Bytes),
    /// The line grew past the limit; its first `max_line_bytes`.
    TooLong(Bytes),
    /// Nothing arrived in time: the idle or the unfinished-line deadline passed.
    TimedOut,
    /// The peer closed and every line has been handed out.
    Closed,
}

/// The reading side of a connection.
pub struct Lines<R> {
    framed: FramedRead<R, LineCodec>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        Self {
            framed: FramedRead::new(inner, LineCodec::new(max_line_bytes)),
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        self.framed.get_mut()
    }

    /// When the peer last sent a byte.
    pub fn last_byte_at(&self) -> Instant {
        self.framed.decoder().last_byte_at
    }

    /// The next line. `idle` bounds the wait from the last byte received
    /// when no line is pending; `partial` bounds how long a started line may
    /// take to finish. Cancel-safe: the buffer lives in `self`.
    pub async fn next(&mut self, idle: Duration, partial: Duration) -> io::Result<Read> {
        let deadline = |codec: &LineCodec| match codec.line_started_at {
            Some(started) => started + partial,
            None => codec.last_byte_at + idle,
        };
        let sleep = sleep_until(deadline(self.framed.decoder()));
        tokio::pin!(sleep);
        poll_fn(|cx| {
            match Pin::new(&mut self.framed).poll_next(cx) {
                Poll::Ready(Some(Ok(Frame::Line(line)))) => return Poll::Ready(Ok(Read::Line(line))),
                Poll::Ready(Some(Ok(Frame::Cut(line)))) => return Poll::Ready(Ok(Read::Cut(line))),
                Poll::Ready(Some(Ok(Frame::TooLong(prefix)))) => {
                    return Poll::Ready(Ok(Read::TooLong(prefix)))
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(Read::Closed)),
                Poll::Pending => {}
            }
            // Bytes may have arrived without finishing a line: the deadline
            // that applies may have changed.
            let due = deadline(self.framed.decoder());
            if due != sleep.deadline() {
                sleep.as_mut().reset(due);
            }
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Ok(Read::TimedOut)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

/// Writes all of `bytes`, or fails after `limit`: a peer that stops
/// reading cannot hold the writer forever.
pub async fn write_within<W: AsyncWrite + Unpin>(
    writer: &mut W,
    bytes: &[u8],
    limit: Duration,
) -> io::Result<()> {
    match tokio::time::timeout(limit, writer.write_all(bytes)).await {
        Ok(result) => result,
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Closing with unread input makes TCP send a reset, which can overtake
/// (and destroy) a reply just written. So: send our FIN, then read and
/// discard what the peer still sends, up to a bound in bytes and time.
pub async fn close_after_draining<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, limit: Duration) {
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
    let _ = tokio::time::timeout(limit, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[tokio::test(start_paused = true)]
    async fn an_unfinished_line_times_out_on_the_line_deadline() {
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(b"IAMAT half").await.unwrap();
        let mut lines = Lines::new(rx, 64);
        let started = Instant::now();
        assert_eq!(
            lines.next(LONG, Duration::from_secs(5)).await.unwrap(),
            Read::TimedOut
        );
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_started_while_waiting_switches_to_the_line_deadline() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut lines = Lines::new(rx, 64);
        let started = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tx.write_all(b"IAMAT ha").await.unwrap();
            tokio::time::sleep(LONG).await;
        });
        let read = lines.next(LONG, Duration::from_secs(5)).await.unwrap();
        assert_eq!(read, Read::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_times_out_on_the_idle_deadline() {
        let (tx, rx) = tokio::io::duplex(64);
        let mut lines = Lines::new(rx, 64);
        let started = Instant::now();
        assert_eq!(
            lines.next(Duration::from_secs(7), LONG).await.unwrap(),
            Read::TimedOut
        );
        assert_eq!(started.elapsed(), Duration::from_secs(7));
        drop(tx);
    }

    #[tokio::test]
    async fn lines_then_a_cut_one_then_closed() {
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(b"one\ntwo").await.unwrap();
        drop(tx);
        let mut lines = Lines::new(rx, 64);
        assert_eq!(
            lines.next(LONG, LONG).await.unwrap(),
            Read::Line(Bytes::from_static(b"one"))
        );
        assert_eq!(
            lines.next(LONG, LONG).await.unwrap(),
            Read::Cut(Bytes::from_static(b"two"))
        );
        assert_eq!(lines.next(LONG, LONG).await.unwrap(), Read::Closed);
    }
}
