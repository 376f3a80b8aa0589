//! Abusive clients, as tasks for a client host (docs/explorer.md, "Abusive
//! clients"): HELLO storms and RESYNC spam on a server's link port, and
//! idle connections hoarding its client slots. What a stranger receives is
//! left in a slot, so that the judge can tell whether it learned anything
//! (with a herd secret it must not). Squatting is the world's (a host that
//! takes a dead server's ports), bulk loads are ordinary exchanges.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::time::{sleep, timeout};
use turmoil::net::TcpStream;

use super::clients::{now_ns, Slot};
use super::talk;
use crate::observe::End;

/// How long a stranger waits for one line of the handshake.
const LINE_MS: u64 = 2_000;
/// Bytes a stranger keeps of what it was sent.
const KEEP_BYTES: usize = 1 << 20;

/// Where a stranger aims.
pub(super) struct Target {
    pub server: String,
    /// The client port, where `HERD LINKPORT?` is answered.
    pub port: u16,
    /// The neighbour the stranger says it is.
    pub claim: String,
    pub count: usize,
    pub for_ms: u64,
}

/// Asks the client port for the link port, as a neighbour would.
async fn link_port(server: &str, port: u16) -> Option<u16> {
    let stream = TcpStream::connect((server, port)).await.ok()?;
    let mut reader = BufReader::new(stream);
    reader.get_mut().write_all(b"HERD LINKPORT?\n").await.ok()?;
    let mut line = String::new();
    timeout(Duration::from_millis(LINE_MS), reader.read_line(&mut line))
        .await
        .ok()?
        .ok()?;
    line.trim().strip_prefix("HERD LINKPORT ")?.parse().ok()
}

fn keep(slot: &Slot, bytes: &[u8]) {
    let mut seen = slot.borrow_mut();
    let room = KEEP_BYTES.saturating_sub(seen.reply.len());
    seen.reply.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Reads what has arrived on `stream` without waiting for more.
async fn drain(stream: &mut TcpStream, slot: &Slot) {
    let mut chunk = vec![0u8; 64 * 1024];
    while let Ok(Ok(n)) = timeout(Duration::from_millis(1), stream.read(&mut chunk)).await {
        if n == 0 {
            return;
        }
        keep(slot, &chunk[..n]);
    }
}

fn start(slot: &Slot) {
    slot.borrow_mut().started_ns = now_ns();
}

/// `count` connections say `HERD HELLO <claim>`, every other one with a
/// made-up proof right behind, and read nothing for `for_ms`; then what
/// each was sent is read.
pub(super) async fn hello_storm(target: Target, slot: Slot) {
    start(&slot);
    let Some(port) = link_port(&target.server, target.port).await else {
        return finish(&slot, End::Failed("no link port".into()));
    };
    let mut streams = Vec::new();
    for i in 0..target.count {
        let Ok(mut stream) = TcpStream::connect((target.server.as_str(), port)).await else {
            continue;
        };
        let mut hello = format!("HERD HELLO {} {i:032x}\n", target.claim);
        if i % 2 == 1 {
            hello.push_str(&format!("HERD PROOF {}\n", "b".repeat(herd::protocol::MAC_HEX)));
        }
        if stream.write_all(hello.as_bytes()).await.is_ok() {
            streams.push(stream);
        }
    }
    sleep(Duration::from_millis(target.for_ms)).await;
    for stream in &mut streams {
        drain(stream, &slot).await;
    }
    finish(&slot, End::Done);
}

/// One connection claims to be `claim`, answers the challenge without a
/// proof (which only a herd without a secret takes), and asks
/// `HERD RESYNC` `count` times over `for_ms`, reading all the while.
pub(super) async fn resync_spam(target: Target, slot: Slot) {
    start(&slot);
    let Some(port) = link_port(&target.server, target.port).await else {
        return finish(&slot, End::Failed("no link port".into()));
    };
    let Ok(stream) = TcpStream::connect((target.server.as_str(), port)).await else {
        return finish(&slot, End::Failed("no connection".into()));
    };
    let mut reader = BufReader::new(stream);
    let hello = format!("HERD HELLO {} {:032x}\n", target.claim, 7);
    let mut challenge = String::new();
    let greeted = async {
        reader.get_mut().write_all(hello.as_bytes()).await?;
        reader.read_line(&mut challenge).await?;
        reader.get_mut().write_all(b"HERD PROOF -\n").await
    };
    if timeout(Duration::from_millis(LINE_MS), greeted).await.is_err() {
        return finish(&slot, End::TimedOut);
    }
    keep(&slot, challenge.as_bytes());
    let every = Duration::from_millis(target.for_ms / target.count.max(1) as u64);
    let mut stream = reader.into_inner();
    let mut chunk = vec![0u8; 64 * 1024];
    for _ in 0..target.count {
        if stream.write_all(b"HERD RESYNC\n").await.is_err() {
            break;
        }
        let tick = sleep(every);
        tokio::pin!(tick);
        loop {
            tokio::select! {
                _ = &mut tick => break,
                read = stream.read(&mut chunk) => match read {
                    Ok(n) if n > 0 => keep(&slot, &chunk[..n]),
                    _ => return finish(&slot, End::Done),
                },
            }
        }
    }
    finish(&slot, End::Done);
}

/// `count` client connections that send nothing and hold on for `for_ms`.
pub(super) async fn hoard(server: String, port: u16, count: usize, for_ms: u64) {
    let mut held = Vec::new();
    for _ in 0..count {
        if let Ok(stream) = TcpStream::connect((server.as_str(), port)).await {
            held.push(stream);
        }
    }
    sleep(Duration::from_millis(for_ms)).await;
}

fn finish(slot: &Slot, end: End) {
    talk::finish(slot, end, now_ns());
}
