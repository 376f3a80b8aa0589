//! What one client does on one connection, whatever carries it: connect,
//! send, half-close, read until the server closes (or, after an ack, ask
//! the readers), or send lines one after another with one reply each.
//! Everything it sends and gets is recorded, and left in a slot for the
//! driver to judge. A `Transport` says how to connect, what time it is and
//! where records go: turmoil and simulated time here (`driver::clients`),
//! real sockets and the wall clock in external mode.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::{timeout_at, Instant};

use crate::observe::{ClientEvent, End};

/// The most a client keeps of one reply, unless it sent more than half
/// of that: a bulk load's AT replies are about as long as its IAMATs.
const MAX_REPLY_BYTES: usize = 1 << 20;

/// How clients reach servers, read the clock and record.
pub trait Transport: Clone + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + 'static;
    /// A connection to `server`'s client port, and the client's own port.
    fn connect(&self, server: &str, port: u16) -> impl Future<Output = io::Result<(Self::Stream, u16)>>;
    /// POSIX time in nanoseconds, as the servers' clock reads it.
    fn now_ns(&self) -> i128;
    fn record(&self, host: &Arc<str>, event: ClientEvent);
}

/// One connection's worth of talking.
pub struct Job {
    pub server: String,
    pub port: u16,
    pub bytes: Vec<u8>,
    /// Close the sending side after `bytes`.
    pub half_close: bool,
    /// For connecting and for the whole exchange.
    pub timeout: Duration,
    /// Read only the first line; if it is an AT line, read it back.
    pub after_ack: Option<ReadBack>,
}

impl Job {
    /// How long after it starts the job is over whatever the server does:
    /// its exchange, then the read-backs, each within `timeout`.
    pub fn gives_up_within(&self) -> Duration {
        let rounds = if self.after_ack.is_some() { 2 } else { 1 };
        self.timeout * rounds
    }
}

/// Right after an ack, ask every reader (server, port) `ask` at once,
/// each on a fresh connection.
pub struct ReadBack {
    pub readers: Vec<(String, u16)>,
    pub ask: Vec<u8>,
}

/// What a client saw; filled in by the client, read by the driver.
#[derive(Debug, Default)]
pub struct Seen {
    /// POSIX time in ns when the client started.
    pub started_ns: i128,
    pub reply: Vec<u8>,
    /// `None` while the exchange goes on.
    pub end: Option<End>,
    /// When it ended.
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

    /// The reply as a step's expectations read it: the text (invalid
    /// UTF-8 as U+FFFD), or what became of the exchange.
    pub fn text(&self) -> String {
        let reply = String::from_utf8_lossy(&self.reply);
        match &self.end {
            Some(End::Failed(why)) => format!("error: {why}"),
            Some(End::TimedOut) => format!("timed out after: {reply}"),
            _ => reply.into_owned(),
        }
    }
}

pub type Slot = Rc<RefCell<Seen>>;

/// One client host's connection, for its records.
struct Conn<T> {
    transport: T,
    host: Arc<str>,
    server: String,
    port: u16,
}

impl<T: Transport> Conn<T> {
    fn record(&self, event: ClientEvent) {
        self.transport.record(&self.host, event);
    }

    fn sent(&self, bytes: &[u8]) {
        self.record(ClientEvent::Sent {
            server: self.server.clone(),
            port: self.port,
            bytes: bytes.to_vec(),
        });
    }

    fn received(&self, bytes: &[u8]) {
        self.record(ClientEvent::Received {
            server: self.server.clone(),
            port: self.port,
            bytes: bytes.to_vec(),
        });
    }
}

/// Connects within the deadline; on failure records and returns how it ended.
async fn connect<T: Transport>(
    transport: &T,
    host: &Arc<str>,
    job: &Job,
    deadline: Instant,
) -> Result<(T::Stream, Conn<T>), End> {
    let end = match timeout_at(deadline, transport.connect(&job.server, job.port)).await {
        Ok(Ok((stream, port))) => {
            let conn = Conn {
                transport: transport.clone(),
                host: host.clone(),
                server: job.server.clone(),
                port,
            };
            return Ok((stream, conn));
        }
        // A crashed turmoil host never answers a connect, as a machine
        // that is off would not.
        Err(_) => End::TimedOut,
        Ok(Err(e)) => End::Failed(e.to_string()),
    };
    let event = ClientEvent::NotConnected {
        server: job.server.clone(),
        end: end.clone(),
    };
    transport.record(host, event);
    Err(end)
}

pub(super) fn finish(slot: &Slot, end: End, now_ns: i128) {
    let mut seen = slot.borrow_mut();
    seen.end = Some(end);
    seen.ended_ns = now_ns;
}

/// One connection: send, half-close, read until the server closes (or,
/// after an ack, ask the readers).
pub async fn talk<T: Transport>(transport: T, host: Arc<str>, job: Job, slot: Slot) {
    slot.borrow_mut().started_ns = transport.now_ns();
    let deadline = Instant::now() + job.timeout;
    let (mut stream, conn) = match connect(&transport, &host, &job, deadline).await {
        Ok(connected) => connected,
        Err(end) => return finish(&slot, end, transport.now_ns()),
    };
    let end = exchange(&mut stream, &conn, &job, &slot, deadline).await;
    conn.record(ClientEvent::Ended {
        server: conn.server.clone(),
        port: conn.port,
        end: end.clone(),
    });
    finish(&slot, end, transport.now_ns());
    let Some(ReadBack { readers, ask }) = job.after_ack.filter(|_| slot.borrow().acked) else {
        return;
    };
    // Right after the ack, every reader at once.
    for (server, port) in readers {
        let read = Slot::default();
        slot.borrow_mut().reads.push((server.clone(), read.clone()));
        let job = Job {
            server,
            port,
            bytes: ask.clone(),
            half_close: true,
            timeout: job.timeout,
            after_ack: None,
        };
        tokio::task::spawn_local(talk(transport.clone(), host.clone(), job, read));
    }
}

async fn exchange<T: Transport>(
    stream: &mut T::Stream,
    conn: &Conn<T>,
    job: &Job,
    slot: &Slot,
    deadline: Instant,
) -> End {
    let written = async {
        stream.write_all(&job.bytes).await?;
        conn.sent(&job.bytes);
        if job.half_close {
            stream.shutdown().await?;
        }
        Ok::<(), io::Error>(())
    };
    match timeout_at(deadline, written).await {
        Err(_) => return End::TimedOut,
        Ok(Err(e)) => return End::Failed(e.to_string()),
        Ok(Ok(())) => {}
    }
    let max_reply = MAX_REPLY_BYTES.max(2 * job.bytes.len());
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return End::TimedOut,
            Ok(Err(e)) => return End::Failed(e.to_string()),
            Ok(Ok(0)) => return End::Done,
            Ok(Ok(n)) => n,
        };
        conn.received(&chunk[..n]);
        let mut seen = slot.borrow_mut();
        if seen.reply.len() + n > max_reply {
            return End::Failed(format!("reply longer than {max_reply} bytes"));
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
pub async fn batch<T: Transport>(transport: T, host: Arc<str>, job: Job, lines: Vec<(Vec<u8>, Slot)>) {
    let deadline = Instant::now() + job.timeout;
    for (_, slot) in &lines {
        slot.borrow_mut().started_ns = transport.now_ns();
    }
    let (stream, conn) = match connect(&transport, &host, &job, deadline).await {
        Ok(connected) => connected,
        Err(end) => {
            let now = transport.now_ns();
            return lines.iter().for_each(|(_, slot)| finish(slot, end.clone(), now));
        }
    };
    let mut stream = BufReader::new(stream);
    let mut failed = None;
    for (line, slot) in &lines {
        if let Some(end) = &failed {
            finish(slot, End::clone(end), transport.now_ns());
            continue;
        }
        slot.borrow_mut().started_ns = transport.now_ns();
        if let Err(e) = stream.get_mut().write_all(line).await {
            failed = Some(End::Failed(e.to_string()));
            finish(slot, End::Failed(e.to_string()), transport.now_ns());
            continue;
        }
        conn.sent(line);
        let mut reply = Vec::new();
        let line_deadline = Instant::now() + job.timeout;
        let end = match timeout_at(line_deadline, stream.read_until(b'\n', &mut reply)).await {
            Ok(Ok(_)) => End::Done,
            Ok(Err(e)) => End::Failed(e.to_string()),
            Err(_) => End::TimedOut,
        };
        if !reply.is_empty() {
            conn.received(&reply);
        }
        slot.borrow_mut().reply = reply;
        if end != End::Done {
            failed = Some(end.clone());
        }
        finish(slot, end, transport.now_ns());
    }
}
