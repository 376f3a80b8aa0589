//! Scenario clients. Each client label (and each `many_clients` prefix,
//! as `<prefix>NNNN`) is one turmoil client host that lives for the whole
//! run and takes work from the driver through a bounded channel: so a long
//! run has as many client hosts, and links, as a short one. Each job is a fresh
//! connection; what the client sent and got is recorded by the client
//! host itself, stamped with simulated time, and left in a slot for the
//! driver to judge.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};
use turmoil::net::TcpStream;

use crate::observe::{sim_now, ClientEvent, End, Log, What};
use crate::oracle::Violation;
use crate::world::World;

/// Jobs one client host may have waiting before it picks them up.
const QUEUE: usize = 1024;

/// One connection's worth of talking.
pub(super) struct Job {
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

/// Right after an ack, ask every reader (server, port) `ask` at once,
/// each on a fresh connection.
pub(super) struct ReadBack {
    pub readers: Vec<(String, u16)>,
    pub ask: Vec<u8>,
}

/// What a client saw; filled in by the client host, read by the driver.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Simulated POSIX time in ns when the client started.
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
}

pub(super) type Slot = Rc<RefCell<Seen>>;

enum Work {
    Talk(Job, Slot),
    /// One IAMAT line after another over one connection, one reply line
    /// each: the lines of a `many_clients` step for one server.
    Batch(Job, Vec<(Vec<u8>, Slot)>),
    /// Anything else a client host may do (abusive clients, abuse.rs).
    Run(Pin<Box<dyn Future<Output = ()>>>),
}

pub(super) struct Clients {
    hosts: BTreeMap<String, mpsc::Sender<Work>>,
    log: Log,
}

impl Clients {
    pub fn new(log: Log) -> Self {
        Self {
            hosts: BTreeMap::new(),
            log,
        }
    }

    fn give(&mut self, world: &mut World, host: &str, work: Work) -> Result<(), Violation> {
        let log = &self.log;
        let queue = self.hosts.entry(host.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            world.client(host, client_host(host.into(), rx, log.clone()));
            tx
        });
        queue.try_send(work).map_err(|_| Violation::Overloaded {
            host: host.to_string(),
            queued: QUEUE,
        })
    }

    /// `host` makes one connection for `job`.
    pub fn talk(&mut self, world: &mut World, host: &str, job: Job) -> Result<Slot, Violation> {
        let slot = Slot::default();
        self.give(world, host, Work::Talk(job, slot.clone()))?;
        Ok(slot)
    }

    /// `host` runs `task` (made outside the simulation, run inside it).
    pub fn run(
        &mut self,
        world: &mut World,
        host: &str,
        task: impl Future<Output = ()> + 'static,
    ) -> Result<(), Violation> {
        self.give(world, host, Work::Run(Box::pin(task)))
    }

    /// `host` sends `lines` one after another over one connection for `job`.
    pub fn batch(
        &mut self,
        world: &mut World,
        host: &str,
        job: Job,
        lines: Vec<Vec<u8>>,
    ) -> Result<Vec<Slot>, Violation> {
        let slots: Vec<(Vec<u8>, Slot)> = lines.into_iter().map(|l| (l, Slot::default())).collect();
        let handed: Vec<Slot> = slots.iter().map(|(_, s)| s.clone()).collect();
        self.give(world, host, Work::Batch(job, slots))?;
        Ok(handed)
    }
}

/// A client host: runs each piece of work as a task of its own.
async fn client_host(host: Arc<str>, mut work: mpsc::Receiver<Work>, log: Log) -> turmoil::Result {
    while let Some(work) = work.recv().await {
        let (host, log) = (host.clone(), log.clone());
        match work {
            Work::Talk(job, slot) => tokio::task::spawn_local(talk(host, job, slot, log)),
            Work::Batch(job, lines) => tokio::task::spawn_local(batch(host, job, lines, log)),
            Work::Run(task) => tokio::task::spawn_local(task),
        };
    }
    Ok(())
}

pub(super) fn now_ns() -> i128 {
    turmoil::since_epoch().unwrap_or_default().as_nanos() as i128
}

struct Conn {
    host: Arc<str>,
    server: String,
    port: u16,
    log: Log,
}

impl Conn {
    fn record(&self, event: ClientEvent) {
        self.log.push(sim_now(), self.host.clone(), What::Client(event));
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
async fn connect(host: &Arc<str>, job: &Job, deadline: Instant, log: &Log) -> Result<(TcpStream, Conn), End> {
    let end = match timeout_at(deadline, TcpStream::connect((job.server.as_str(), job.port))).await {
        Ok(Ok(stream)) => {
            let port = stream.local_addr().map_or(0, |a| a.port());
            let conn = Conn {
                host: host.clone(),
                server: job.server.clone(),
                port,
                log: log.clone(),
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
    log.push(sim_now(), host.clone(), What::Client(event));
    Err(end)
}

pub(super) fn finish(slot: &Slot, end: End) {
    let mut seen = slot.borrow_mut();
    seen.end = Some(end);
    seen.ended_ns = now_ns();
}

/// One connection: send, half-close, read until the server closes (or,
/// after an ack, ask the readers).
async fn talk(host: Arc<str>, job: Job, slot: Slot, log: Log) {
    slot.borrow_mut().started_ns = now_ns();
    let deadline = Instant::now() + job.timeout;
    let (mut stream, conn) = match connect(&host, &job, deadline, &log).await {
        Ok(connected) => connected,
        Err(end) => return finish(&slot, end),
    };
    let end = exchange(&mut stream, &conn, &job, &slot, deadline).await;
    conn.record(ClientEvent::Ended {
        server: conn.server.clone(),
        port: conn.port,
        end: end.clone(),
    });
    finish(&slot, end);
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
        tokio::task::spawn_local(talk(host.clone(), job, read, log.clone()));
    }
}

async fn exchange(stream: &mut TcpStream, conn: &Conn, job: &Job, slot: &Slot, deadline: Instant) -> End {
    let written = async {
        stream.write_all(&job.bytes).await?;
        conn.sent(&job.bytes);
        if job.half_close {
            stream.shutdown().await?;
        }
        Ok::<(), std::io::Error>(())
    };
    if let Err(e) = written.await {
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
        conn.received(&chunk[..n]);
        let mut seen = slot.borrow_mut();
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
async fn batch(host: Arc<str>, job: Job, lines: Vec<(Vec<u8>, Slot)>, log: Log) {
    let deadline = Instant::now() + job.timeout;
    for (_, slot) in &lines {
        slot.borrow_mut().started_ns = now_ns();
    }
    let (stream, conn) = match connect(&host, &job, deadline, &log).await {
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
        slot.borrow_mut().started_ns = now_ns();
        if let Err(e) = stream.get_mut().write_all(line).await {
            failed = Some(End::Failed(e.to_string()));
            finish(slot, End::Failed(e.to_string()));
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
        finish(slot, end);
    }
}
