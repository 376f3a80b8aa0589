//! Clients of the attack tests and bench: one-line questions on a fresh
//! connection, a client that pipelines, and a probe that times the herd's
//! answers while something else goes on (each round a fresh connection, an
//! IAMAT, then a WHATSAT of the same client, each timed until its whole
//! reply is in). Failures are returned, never a panic.
#![allow(dead_code)]

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};

use super::neighbour::{ask, connect, read_line, READ_PATIENCE};

/// `IAMAT` lines for `count` new clients named `prefix-N`, each ID padded
/// with `x` to at least `bytes`, each with a client time of its own.
pub fn iamats(prefix: &str, count: usize, bytes: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let id = format!("{prefix}-{i}");
            let pad = "x".repeat(bytes.saturating_sub(id.len()));
            format!("IAMAT {id}{pad} +34.068930-118.445127 1700000000.{i:09}")
        })
        .collect()
}

/// The client ID of an IAMAT (or WHATSAT) line.
pub fn client_of(line: &str) -> &str {
    line.split(' ').nth(1).unwrap_or_default()
}

/// Sends `line` on a fresh connection to `port`; the first line of the answer.
pub async fn tell(port: u16, line: &str) -> io::Result<String> {
    ask(&mut BufReader::new(connect(port).await?), line).await
}

/// The first line of the answer to `WHATSAT <client>` at `port`.
pub async fn whatsat(port: u16, client: &str) -> io::Result<String> {
    tell(port, &format!("WHATSAT {client} 10 1")).await
}

/// Whether the server on `port` answers WHATSAT for `client`.
pub async fn holds(port: u16, client: &str) -> bool {
    whatsat(port, client).await.is_ok_and(|a| a.starts_with("AT "))
}

/// How long until the server on each of `ports` answers WHATSAT for
/// `client`; `None` if they do not all within `cap`.
pub async fn held_by(ports: &[u16], client: &str, cap: Duration) -> Option<Duration> {
    let start = Instant::now();
    for &port in ports {
        while !holds(port, client).await {
            if start.elapsed() > cap {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Some(start.elapsed())
}

/// Sends every line on one connection without waiting for replies (from a
/// task of its own, so neither side waits on the other) and reads the
/// replies meanwhile: as many as came, up to one per line, until one took
/// longer than `READ_PATIENCE`.
pub async fn pipeline(port: u16, lines: &[String]) -> Vec<String> {
    let Ok(stream) = connect(port).await else {
        return Vec::new();
    };
    let (read, mut write) = stream.into_split();
    let all: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let sending = tokio::spawn(async move { write.write_all(all.as_bytes()).await });
    let mut replies = BufReader::new(read);
    let mut answers = Vec::with_capacity(lines.len());
    while answers.len() < lines.len() {
        match read_line(&mut replies, READ_PATIENCE).await {
            Ok(Some(answer)) => answers.push(answer),
            _ => break,
        }
    }
    sending.abort();
    answers
}

/// How long each request of one round took to be answered in full.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub iamat: Duration,
    pub whatsat: Duration,
}

/// One round at `port` for a client of its own, `client`. The IAMAT is
/// timed from before the connection opens, so a server that is slow to
/// admit a client shows.
pub async fn round(port: u16, client: &str) -> io::Result<Round> {
    let start = Instant::now();
    let mut c = BufReader::new(connect(port).await?);
    let line = format!("IAMAT {client} +34.068930-118.445127 1700000000.5\n");
    c.get_mut().write_all(line.as_bytes()).await?;
    let at = read_line(&mut c, READ_PATIENCE).await?.unwrap_or_default();
    if !at.starts_with("AT ") {
        return Err(io::Error::other(format!("IAMAT answered {at:?}")));
    }
    let iamat = start.elapsed();
    let start = Instant::now();
    c.get_mut()
        .write_all(format!("WHATSAT {client} 10 1\n").as_bytes())
        .await?;
    // The AT line, the JSON, then the empty line that ends the reply.
    let first = read_line(&mut c, READ_PATIENCE).await?.unwrap_or_default();
    if !first.starts_with("AT ") {
        return Err(io::Error::other(format!("WHATSAT answered {first:?}")));
    }
    while !read_line(&mut c, READ_PATIENCE)
        .await?
        .ok_or(io::ErrorKind::UnexpectedEof)?
        .is_empty()
    {}
    Ok(Round {
        iamat,
        whatsat: start.elapsed(),
    })
}

/// The `q` quantile (0 to 1) of `samples`, which it sorts.
pub fn quantile(samples: &mut [Duration], q: f64) -> Option<Duration> {
    samples.sort();
    let last = samples.len().checked_sub(1)?;
    Some(samples[((last as f64) * q).round() as usize])
}
