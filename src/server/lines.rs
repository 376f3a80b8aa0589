//! A bounded line reader: owns the connection's read buffer and hands out
//! whole lines, so no caller ever sees a partial message or holds more than
//! `max_line_bytes` of one.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// What the next read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One line, without its `\n` or `\r\n`. A last line cut short by the
    /// peer closing its sending side also comes here.
    Line(Vec<u8>),
    /// The line grew past the limit; here are its first `max_line_bytes`.
    TooLong(Vec<u8>),
    /// Nothing arrived in time: the idle or unfinished-line deadline passed.
    TimedOut,
    /// The peer closed and every line has been handed out.
    Closed,
}

const READ_CHUNK: usize = 4096;

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    max_line_bytes: usize,
    eof: bool,
    last_byte_at: Instant,
    line_started_at: Instant,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        let now = Instant::now();
        Self {
            inner,
            buf: Vec::new(),
            scanned: 0,
            max_line_bytes,
            eof: false,
            last_byte_at: now,
            line_started_at: now,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The next frame. `idle` bounds the wait when no line is pending,
    /// measured from the last byte received; `partial` bounds how long a
    /// started line may take to finish. Cancel-safe: all state lives in
    /// `self`, so dropping this future (in a `select!`) loses no bytes.
    pub async fn next(&mut self, idle: Duration, partial: Duration) -> io::Result<Frame> {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.scanned = 0;
                self.line_started_at = self.last_byte_at;
                if line.len() > self.max_line_bytes {
                    line.truncate(self.max_line_bytes);
                    return Ok(Frame::TooLong(line));
                }
                return Ok(Frame::Line(line));
            }
            self.scanned = self.buf.len();
            // One byte of slack for the `\r` of a `\r\n` ending.
            if self.buf.len() > self.max_line_bytes + 1 {
                let mut line = std::mem::take(&mut self.buf);
                line.truncate(self.max_line_bytes);
                self.scanned = 0;
                return Ok(Frame::TooLong(line));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(Frame::Closed);
                }
                self.scanned = 0;
                return Ok(Frame::Line(std::mem::take(&mut self.buf)));
            }
            let deadline = if self.buf.is_empty() {
                self.last_byte_at + idle
            } else {
                self.line_started_at + partial
            };
            let mut chunk = [0u8; READ_CHUNK];
            match tokio::time::timeout_at(deadline, self.inner.read(&mut chunk)).await {
                Err(_) => return Ok(Frame::TimedOut),
                Ok(Ok(0)) => self.eof = true,
                Ok(Ok(n)) => {
                    let was_empty = self.buf.is_empty();
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.last_byte_at = Instant::now();
                    if was_empty {
                        self.line_started_at = self.last_byte_at;
                    }
                }
                Ok(Err(e)) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    const LONG: Duration = Duration::from_secs(3600);

    async fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        let (mut tx, rx) = tokio::io::duplex(64);
        let input = input.to_vec();
        tokio::spawn(async move {
            // Dribble the input a few bytes at a time, as a slow TCP peer would.
            for chunk in input.chunks(3) {
                tx.write_all(chunk).await.unwrap();
            }
        });
        let mut reader = LineReader::new(rx, max);
        let mut out = Vec::new();
        loop {
            let f = reader.next(LONG, LONG).await.unwrap();
            let done = f == Frame::Closed;
            out.push(f);
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn splits_lines_across_reads_and_keeps_a_final_unterminated_one() {
        let got = frames(b"a b\r\nccc\n\nlast", 16).await;
        let line = |s: &str| Frame::Line(s.as_bytes().to_vec());
        assert_eq!(
            got,
            vec![line("a b"), line("ccc"), line(""), line("last"), Frame::Closed]
        );
    }

    #[tokio::test]
    async fn cuts_an_over_long_line_to_the_limit() {
        let got = frames(b"0123456789abcdef\nok\n", 8).await;
        assert_eq!(got[0], Frame::TooLong(b"01234567".to_vec()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unfinished_line_times_out() {
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(b"IAMAT half").await.unwrap();
        let mut reader = LineReader::new(rx, 64);
        let f = reader.next(LONG, Duration::from_secs(5)).await.unwrap();
        assert_eq!(f, Frame::TimedOut);
        drop(tx);
    }
}
