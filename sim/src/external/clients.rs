//! Scenario clients over real TCP: the simulator's own client code
//! (`driver::talk`) on fresh connections from this process to each
//! server's real client port (never through a proxy), stamped with the
//! wall clock. Also the plain one-shot exchange that start-up markers and
//! polls use, which is not recorded.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::clock::RealClock;
use super::recording::Recording;
use crate::driver::talk::Transport;
use crate::observe::{ClientEvent, End};

/// The most a poll or a marker keeps of a reply.
const MAX_REPLY_BYTES: u64 = 1 << 20;

/// Where each server is, and where clients' records go.
#[derive(Clone)]
pub struct RealTransport {
    pub hosts: Rc<BTreeMap<String, String>>,
    pub recording: Rc<Recording>,
}

impl Transport for RealTransport {
    type Stream = TcpStream;

    async fn connect(&self, server: &str, port: u16) -> io::Result<(TcpStream, u16)> {
        let host = self.hosts.get(server).map_or("127.0.0.1", String::as_str);
        let stream = TcpStream::connect((host, port)).await?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr().map_or(0, |a| a.port());
        Ok((stream, local))
    }

    fn now_ns(&self) -> i128 {
        RealClock::posix_ns()
    }

    fn record(&self, host: &Arc<str>, event: ClientEvent) {
        self.recording.client(host, event);
    }
}

/// Sends `bytes`, half-closes and reads until the server closes, within
/// `limit`; unrecorded. An error says how it ended instead.
pub async fn ask(addr: SocketAddr, bytes: &[u8], limit: Duration) -> Result<Vec<u8>, End> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(bytes).await?;
        stream.shutdown().await?;
        let mut reply = Vec::new();
        (&mut stream)
            .take(MAX_REPLY_BYTES)
            .read_to_end(&mut reply)
            .await?;
        Ok::<Vec<u8>, io::Error>(reply)
    };
    match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(End::Failed(e.to_string())),
        Err(_) => Err(End::TimedOut),
    }
}
