//! Speaking to a server as a neighbour would, or as a stranger posing as
//! one, in either protocol: the current one (ask the client port where the
//! link port is, then `HERD HELLO <name> <nonce>` there) and the one before
//! it (`HERD HELLO <name>` as the first line on the client port). Every
//! read is bounded and every failure is returned, never a panic: the
//! attack bench speaks to servers that may be too busy to answer.
#![allow(dead_code)]

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Which inter-server protocol a binary speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Links on a port of their own, found with `HERD LINKPORT?`.
    LinkPort,
    /// Links on the client port, `HERD HELLO <name>` first.
    ClientPort,
}

/// How long one read may take before it counts as no answer.
pub const READ_PATIENCE: Duration = Duration::from_secs(5);

pub async fn connect(port: u16) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The next line without its ending; `None` once the server has closed.
pub async fn read_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    limit: Duration,
) -> io::Result<Option<String>> {
    let mut line = String::new();
    match tokio::time::timeout(limit, reader.read_line(&mut line)).await {
        Err(_) => Err(io::ErrorKind::TimedOut.into()),
        Ok(Ok(0)) => Ok(None),
        Ok(Ok(_)) => Ok(Some(line.trim_end_matches(['\r', '\n']).to_string())),
        // A close with our lines unread shows as a reset.
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => Ok(None),
        Ok(Err(e)) => Err(e),
    }
}

/// Every line until the server closes the connection; an error if it
/// does not within `limit`.
pub async fn lines_until_closed(
    reader: &mut BufReader<TcpStream>,
    limit: Duration,
) -> io::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match read_line(reader, left).await? {
            Some(line) => lines.push(line),
            None => return Ok(lines),
        }
    }
}

/// Sends `line` (adding `\n`) and returns the first line of the answer.
pub async fn ask(reader: &mut BufReader<TcpStream>, line: &str) -> io::Result<String> {
    reader.get_mut().write_all(format!("{line}\n").as_bytes()).await?;
    read_line(reader, READ_PATIENCE)
        .await?
        .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
}

/// Where the server on `client_port` takes links (`HERD LINKPORT?`).
pub async fn link_port(client_port: u16) -> io::Result<u16> {
    let mut reader = BufReader::new(connect(client_port).await?);
    let answer = ask(&mut reader, "HERD LINKPORT?").await?;
    answer
        .strip_prefix("HERD LINKPORT ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not a link port: {answer:?}")))
}

/// A nonce never used before in this process: 32 hex digits.
pub fn nonce() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("{:032x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The port where the server on `client_port` takes links: the one it
/// names when asked, or (under the older protocol) the client port itself.
pub async fn link_target(protocol: Protocol, client_port: u16) -> io::Result<u16> {
    match protocol {
        Protocol::LinkPort => link_port(client_port).await,
        Protocol::ClientPort => Ok(client_port),
    }
}

/// A connection to `port` (from `link_target`) that has said
/// `HERD HELLO <name>`, and nothing else yet.
pub async fn hello(protocol: Protocol, port: u16, name: &str) -> io::Result<TcpStream> {
    let line = match protocol {
        Protocol::LinkPort => format!("HERD HELLO {name} {}\n", nonce()),
        Protocol::ClientPort => format!("HERD HELLO {name}\n"),
    };
    let mut stream = connect(port).await?;
    stream.write_all(line.as_bytes()).await?;
    Ok(stream)
}

/// A connection subscribed as `name` the way a herd without a secret lets
/// anyone: `HELLO`, and under the current protocol `HERD PROOF -` at once,
/// without waiting for the challenge. Nothing is read.
pub async fn subscribe(protocol: Protocol, port: u16, name: &str) -> io::Result<TcpStream> {
    let mut stream = hello(protocol, port, name).await?;
    if protocol == Protocol::LinkPort {
        stream.write_all(b"HERD PROOF -\n").await?;
    }
    Ok(stream)
}
