//! Scenario clients over real TCP: each job is a fresh connection from
//! this process to a server's real client port (never through a proxy),
//! recorded as the simulator's client hosts record theirs, and left in a
//! slot for the driver to judge. Also the plain one-shot exchange that
//! start-up markers and polls use, which is not recorded.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

use super::clock::RealClock;
use super::recording::Recording;
use crate::observe::{ClientEvent, End};

/// The most a client keeps of one reply.
const MAX_REPLY_BYTES: usize = 1 << 20;

pub struct Job {
    pub server: String,
    pub addr: SocketAddr,
    pub bytes: Vec<u8>,
    /// Close the sending side after `bytes`.
    pub half_close: bool,
    /// For connecting and for the whole exchange.
    pub timeout: Duration,
    /// Read only the first line; if it is an AT line, read it back.
    pub after_ack: Option<ReadBack>,
}

/// Right after an ack, ask every reader `ask` at once, each on a fresh
/// connection.
pub struct ReadBack {
    pub readers: Vec<(String, SocketAddr)>,
    pub ask: Vec<u8>,
}

/// What a client saw; filled in by its task, read by the driver.
#[derive(Debug, Default)]
pub struct Seen {
    /// POSIX time in ns when the client started, and the run's time then.
    pub started_ns: i128,
    pub started_at: Duration,
    pub reply: Vec<u8>,
    /// `None` while the exchange goes on.
    pub end: Option<End>,
    pub ended_ns: i128,
    /// The first line was an AT line (a job with `after_ack`).
    pub acked: bool,
    /// The reads asked after the ack, by server.
    pub reads: Vec<(String, Slot)>,
}

impl Seen {
    /// The exchange and every read after it are over.
    pub fn done(&self) -> bool {
        self.end.is_some() && self.reads.iter().all(|(_, r)| r.borrow().done())
    }
}

pub type Slot = Rc<RefCell<Seen>>;

/// One client host's connection, for its records.
struct Conn {
    host: Arc<str>,
    server: String,
    port: u16,
    recording: Rc<Recording>,
}

impl Conn {
    fn record(&self, event: ClientEvent) {
        self.recording.client(&self.host, event);
    }
}

fn begin(slot: &Slot, clock: &RealClock) {
    let mut seen = slot.borrow_mut();
    seen.started_ns = RealClock::posix_ns();
    seen.started_at = clock.elapsed();
}

fn finish(slot: &Slot, end: End) {
    let mut seen = slot.borrow_mut();
    seen.end = Some(end);
    seen.ended_ns = RealClock::posix_ns();
}

async fn connect(
    host: &Arc<str>,
    job: &Job,
    deadline: Instant,
    recording: &Rc<Recording>,
) -> Result<(TcpStream, Conn), End> {
    let end = match timeout_at(deadline, TcpStream::connect(job.addr)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            let port = stream.local_addr().map_or(0, |a| a.port());
            let conn = Conn {
                host: host.clone(),
                server: job.server.clone(),
                port,
                recording: recording.clone(),
            };
            return Ok((stream, conn));
        }
        Err(_) => End::TimedOut,
        Ok(Err(e)) => End::Failed(e.to_string()),
    };
    let event = ClientEvent::NotConnected {
        server: job.server.clone(),
        end: end.clone(),
    };
    recording.client(host, event);
    Err(end)
}

/// One connection: send, half-close, read until the server closes (or,
/// after an ack, ask the readers).
pub async fn talk(host: Arc<str>, job: Job, slot: Slot, recording: Rc<Recording>, clock: RealClock) {
    begin(&slot, &clock);
    let deadline = Instant::now() + job.timeout;
    let (mut stream, conn) = match connect(&host, &job, deadline, &recording).await {
        Ok(connected) => connected,
        Err(end) => return finish(&slot, end),
    };
    let end = exchange(&mut stream, &conn, &job, &slot, deadline).await;
    drop(stream);
    conn.record(ClientEvent::Ended {
        server: conn.server.clone(),
        port: conn.port,
        end: end.clone(),
    });
    finish(&slot, end);
    let Some(ReadBack { readers, ask }) = job.after_ack.filter(|_| slot.borrow().acked) else {
        return;
    };
    for (server, addr) in readers {
        let read = Slot::default();
        slot.borrow_mut().reads.push((server.clone(), read.clone()));
        let job = Job {
            server,
            addr,
            bytes: ask.clone(),
            half_close: true,
            timeout: job.timeout,
            after_ack: None,
        };
        tokio::task::spawn_local(talk(host.clone(), job, read, recording.clone(), clock));
    }
}

async fn exchange(stream: &mut TcpStream, conn: &Conn, job: &Job, slot: &Slot, deadline: Instant) -> End {
    let written = async {
        stream.write_all(&job.bytes).await?;
        conn.record(ClientEvent::Sent {
            server: conn.server.clone(),
            port: conn.port,
            bytes: job.bytes.clone(),
        });
        if job.half_close {
            stream.shutdown().await?;
        }
        Ok::<(), std::io::Error>(())
    };
    if let Err(e) = timeout_at(deadline, written)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
    {
        return End::Failed(e.to_string());
    }
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return End::TimedOut,
            Ok(Err(e)) => return End::Failed(e.to_string()),
            Ok(Ok(0)) => return End::Done,
            Ok(Ok(n)) => n,
        };
        conn.record(ClientEvent::Received {
            server: conn.server.clone(),
            port: conn.port,
            bytes: chunk[..n].to_vec(),
        });
        let mut seen = slot.borrow_mut();
        if seen.reply.len() + n > MAX_REPLY_BYTES {
            return End::Failed(format!("reply longer than {MAX_REPLY_BYTES} bytes"));
        }
        seen.reply.extend_from_slice(&chunk[..n]);
        if job.after_ack.is_some() {
            if let Some(end) = seen.reply.iter().position(|&b| b == b'\n') {
                seen.reply.truncate(end + 1);
                seen.acked = seen.reply.starts_with(b"AT ");
                return End::Done;
            }
        }
    }
}

/// Lines one after another over one connection, one reply line each.
pub async fn batch(
    host: Arc<str>,
    job: Job,
    lines: Vec<(Vec<u8>, Slot)>,
    recording: Rc<Recording>,
    clock: RealClock,
) {
    let deadline = Instant::now() + job.timeout;
    lines.iter().for_each(|(_, slot)| begin(slot, &clock));
    let (stream, conn) = match connect(&host, &job, deadline, &recording).await {
        Ok(connected) => connected,
        Err(end) => return lines.iter().for_each(|(_, slot)| finish(slot, end.clone())),
    };
    let mut stream = BufReader::new(stream);
    let mut failed = None;
    for (line, slot) in &lines {
        if let Some(end) = &failed {
            finish(slot, End::clone(end));
            continue;
        }
        begin(slot, &clock);
        if let Err(e) = stream.get_mut().write_all(line).await {
            failed = Some(End::Failed(e.to_string()));
            finish(slot, End::Failed(e.to_string()));
            continue;
        }
        conn.record(ClientEvent::Sent {
            server: conn.server.clone(),
            port: conn.port,
            bytes: line.clone(),
        });
        let mut reply = Vec::new();
        let line_deadline = Instant::now() + job.timeout;
        let end = match timeout_at(line_deadline, stream.read_until(b'\n', &mut reply)).await {
            Ok(Ok(_)) => End::Done,
            Ok(Err(e)) => End::Failed(e.to_string()),
            Err(_) => End::TimedOut,
        };
        if !reply.is_empty() {
            conn.record(ClientEvent::Received {
                server: conn.server.clone(),
                port: conn.port,
                bytes: reply.clone(),
            });
        }
        slot.borrow_mut().reply = reply;
        if end != End::Done {
            failed = Some(end.clone());
        }
        finish(slot, end);
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
            .take(MAX_REPLY_BYTES as u64)
            .read_to_end(&mut reply)
            .await?;
        Ok::<Vec<u8>, std::io::Error>(reply)
    };
    match tokio::time::timeout(limit, exchange).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(End::Failed(e.to_string())),
        Err(_) => Err(End::TimedOut),
    }
}
