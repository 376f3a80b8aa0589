//! A bounded line decoder for `tokio_util`'s `FramedRead`: whole lines as
//! bytes (client text need not be UTF-8), never more than `max_line_bytes`
//! of one held, and the times a deadline needs (last byte, line start).

use std::io;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;
use tokio_util::codec::Decoder;

/// What the decoder hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// One line, without its `\n` or `\r\n`.
    Line(Bytes),
    /// A last line without its newline: the peer closed its sending side
    /// in the middle of it, or never ends its lines. A client's is taken as
    /// a line; a neighbour's is a message cut short, which may still parse
    /// (a time cut to fewer digits), so it is never taken as one.
    Cut(Bytes),
    /// The line grew past the limit; here are its first `max_line_bytes`.
    /// The rest of it, up to its newline, is skipped.
    TooLong(Bytes),
}

pub struct LineCodec {
    max_line_bytes: usize,
    /// Bytes of the buffer already searched for a newline.
    scanned: usize,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    /// When the buffer last grew, and when the line now in it started.
    pub(super) last_byte_at: Instant,
    pub(super) line_started_at: Option<Instant>,
    seen_len: usize,
}

impl LineCodec {
    pub fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            scanned: 0,
            skipping: false,
            last_byte_at: Instant::now(),
            line_started_at: None,
            seen_len: 0,
        }
    }

    /// Notes new bytes: `decode` is called after every read.
    fn note_arrivals(&mut self, buf: &BytesMut) {
        if buf.len() > self.seen_len {
            let now = Instant::now();
            self.last_byte_at = now;
            if self.line_started_at.is_none() {
                self.line_started_at = Some(now);
            }
        }
    }

    fn take_line(&mut self, buf: &mut BytesMut, newline_at: usize) -> Option<Frame> {
        let mut line = buf.split_to(newline_at + 1);
        self.scanned = 0;
        line.truncate(newline_at);
        if line.last() == Some(&b'\r') {
            line.truncate(line.len() - 1);
        }
        if std::mem::take(&mut self.skipping) {
            return None;
        }
        if line.len() > self.max_line_bytes {
            line.truncate(self.max_line_bytes);
            return Some(Frame::TooLong(line.freeze()));
        }
        Some(Frame::Line(line.freeze()))
    }
}

impl Decoder for LineCodec {
    type Item = Frame;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> io::Result<Option<Frame>> {
        self.note_arrivals(buf);
        let frame = loop {
            match memchr_newline(&buf[self.scanned..]) {
                Some(pos) => {
                    let at = self.scanned + pos;
                    if let Some(frame) = self.take_line(buf, at) {
                        break Some(frame);
                    }
                }
                None => {
                    self.scanned = buf.len();
                    if self.skipping {
                        buf.clear();
                        self.scanned = 0;
                        break None;
                    }
                    // One byte of slack for the `\r` of a `\r\n` ending.
                    if buf.len() > self.max_line_bytes + 1 {
                        let prefix = buf.split_to(self.max_line_bytes).freeze();
                        buf.clear();
                        self.scanned = 0;
                        self.skipping = true;
                        break Some(Frame::TooLong(prefix));
                    }
                    break None;
                }
            }
        };
        if buf.is_empty() {
            self.line_started_at = None;
        } else if frame.is_some() {
            // What is left belongs to the next line, which started now.
            self.line_started_at = Some(self.last_byte_at);
        }
        self.seen_len = buf.len();
        Ok(frame)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<Frame>> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        if buf.is_empty() || std::mem::take(&mut self.skipping) {
            buf.clear();
            return Ok(None);
        }
        self.scanned = 0;
        self.seen_len = 0;
        self.line_started_at = None;
        let line = buf.split().freeze();
        Ok(Some(if line.len() > self.max_line_bytes {
            Frame::TooLong(line.slice(..self.max_line_bytes))
        } else {
            Frame::Cut(line)
        }))
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], max: usize, chunk: usize) -> Vec<Frame> {
        let mut codec = LineCodec::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(frame) = codec.decode(&mut buf).unwrap() {
                out.push(frame);
            }
        }
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        out
    }

    fn line(s: &str) -> Frame {
        Frame::Line(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn splits_lines_across_reads_and_tells_a_final_unterminated_one_apart() {
        for chunk in [1, 3, 64] {
            let got = decode_all(b"a b\r\nccc\n\nlast", 16, chunk);
            let cut = Frame::Cut(Bytes::from_static(b"last"));
            assert_eq!(got, vec![line("a b"), line("ccc"), line(""), cut], "{chunk}");
        }
    }

    #[test]
    fn an_over_long_line_gives_its_prefix_and_the_next_line_survives() {
        for chunk in [1, 5, 64] {
            let got = decode_all(b"0123456789abcdef\nok\n", 8, chunk);
            let too_long = Frame::TooLong(Bytes::from_static(b"01234567"));
            assert_eq!(got, vec![too_long, line("ok")], "{chunk}");
        }
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_a_line() {
        assert_eq!(decode_all(b"12345678\r\n", 8, 1), vec![line("12345678")]);
    }

    #[test]
    fn the_line_start_is_known_while_a_line_is_pending() {
        let mut codec = LineCodec::new(64);
        let mut buf = BytesMut::from(&b"IAMAT half"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(codec.line_started_at.is_some());
        buf.extend_from_slice(b" line\n");
        assert!(codec.decode(&mut buf).unwrap().is_some());
        assert!(codec.line_started_at.is_none());
    }
}
