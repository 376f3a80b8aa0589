//! Scenario clients: turmoil client hosts that connect to a server, send
//! their lines, and hand what came back to the driver.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use turmoil::net::TcpStream;

/// What a client saw; filled in by the client task, read by the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    /// Everything the server sent before closing.
    Reply(Vec<u8>),
    /// Connecting, writing or reading failed.
    Failed(String),
    /// No close from the server within the client's timeout; what had
    /// arrived so far.
    TimedOut(Vec<u8>),
}

pub type Slot = Rc<RefCell<Outcome>>;

/// One line (or raw bytes), then a half-close, then read to the end: the
/// way test clients and `nc -N` talk, and what SPEC §2 promises to answer.
/// Without the half-close the client reads until the server gives up on it.
pub async fn one_shot(
    server: String,
    port: u16,
    bytes: Vec<u8>,
    half_close: bool,
    timeout: Duration,
    slot: Slot,
) -> turmoil::Result {
    // The deadline covers connecting too: a crashed turmoil host never
    // answers a connect, as a machine that is off would not.
    let deadline = tokio::time::Instant::now() + timeout;
    let result = async {
        let connect = tokio::time::timeout_at(deadline, TcpStream::connect((server.as_str(), port)));
        let Ok(stream) = connect.await else {
            return Ok(Outcome::TimedOut(Vec::new()));
        };
        let mut stream = stream?;
        stream.write_all(&bytes).await?;
        if half_close {
            stream.shutdown().await?;
        }
        let mut reply = Vec::new();
        match tokio::time::timeout_at(deadline, stream.read_to_end(&mut reply)).await {
            Ok(read) => read.map(|_| Outcome::Reply(reply)),
            Err(_) => Ok(Outcome::TimedOut(reply)),
        }
    }
    .await;
    *slot.borrow_mut() = result.unwrap_or_else(|e: std::io::Error| Outcome::Failed(e.to_string()));
    // A client never fails the simulation itself: the driver judges it.
    Ok(())
}

/// Many IAMAT lines over one connection, one reply line read after each;
/// each slot gets its own reply line.
pub async fn many(
    server: String,
    port: u16,
    lines: Vec<String>,
    timeout: Duration,
    slots: Vec<Slot>,
) -> turmoil::Result {
    let result: std::io::Result<()> = async {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect((server.as_str(), port))).await {
            Ok(stream) => stream?,
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
        };
        let mut stream = BufReader::new(stream);
        for (line, slot) in lines.iter().zip(&slots) {
            stream.get_mut().write_all(format!("{line}\n").as_bytes()).await?;
            let mut reply = Vec::new();
            match tokio::time::timeout(timeout, stream.read_until(b'\n', &mut reply)).await {
                Ok(read) => {
                    read?;
                    *slot.borrow_mut() = Outcome::Reply(reply);
                }
                Err(_) => *slot.borrow_mut() = Outcome::TimedOut(reply),
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        for slot in &slots {
            if *slot.borrow() == Outcome::Pending {
                *slot.borrow_mut() = Outcome::Failed(e.to_string());
            }
        }
    }
    Ok(())
}
