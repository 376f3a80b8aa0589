//! A client that times the herd's answers while something else goes on:
//! each round a fresh connection, an IAMAT, then a WHATSAT of the same
//! client, each timed until its whole reply is in.
#![allow(dead_code)]

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};

use super::neighbour::{connect, read_line, READ_PATIENCE};

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
