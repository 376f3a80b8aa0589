//! The load generator: clients that send IAMATs to one server, each a newer
//! location of its client and each waiting for its reply before the next,
//! either on persistent connections or on a new connection per command (as
//! course scripts talk: connect, one line, the reply, close). Every reply
//! is timed; only those within the measured window count.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long any one reply may take before the run fails.
const REPLY_PATIENCE: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// Each client keeps one connection and sends command after command.
    Persistent,
    /// Each client opens a connection per command and closes it after the reply.
    Fresh,
}

impl Shape {
    pub fn label(self) -> &'static str {
        match self {
            Shape::Persistent => "persistent",
            Shape::Fresh => "conn/cmd",
        }
    }
}

/// What one load phase measured.
#[derive(Default)]
pub struct Driven {
    /// Replies in the window, and the window's length.
    pub counted: u64,
    pub window: Duration,
    /// Every reply of the phase, warm-up included.
    pub replies: u64,
    /// Latencies of the replies in the window, sorted.
    pub latencies: Vec<Duration>,
}

/// The window's edges, for the caller to take its own readings at.
pub trait Window {
    fn opened(&mut self);
    fn closed(&mut self);
}

/// `clients` clients of `shape` against `target`: `warm_up`, then a window
/// of `seconds` in which replies are counted and timed.
pub async fn drive(
    target: SocketAddr,
    shape: Shape,
    clients: usize,
    warm_up: Duration,
    window: Duration,
    edges: &mut dyn Window,
) -> Driven {
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let replies = Arc::new(AtomicU64::new(0));
    let tag = match shape {
        Shape::Persistent => "load",
        Shape::Fresh => "fresh",
    };
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let client = Client {
                target,
                shape,
                id: format!("{tag}-{c}"),
                stop: stop.clone(),
                counting: counting.clone(),
                replies: replies.clone(),
            };
            tokio::spawn(client.run())
        })
        .collect();
    tokio::time::sleep(warm_up).await;
    edges.opened();
    counting.store(true, Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(window).await;
    counting.store(false, Ordering::Relaxed);
    let window = start.elapsed();
    edges.closed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("load client"));
    }
    latencies.sort_unstable();
    Driven {
        counted: latencies.len() as u64,
        window,
        replies: replies.load(Ordering::Relaxed),
        latencies,
    }
}

struct Client {
    target: SocketAddr,
    shape: Shape,
    id: String,
    stop: Arc<AtomicBool>,
    counting: Arc<AtomicBool>,
    replies: Arc<AtomicU64>,
}

impl Client {
    /// Sends until stopped; the latencies of the replies in the window.
    async fn run(self) -> Vec<Duration> {
        let mut latencies = Vec::new();
        let mut conn: Option<BufReader<TcpStream>> = None;
        let mut line = String::new();
        let mut reply = String::new();
        for seq in 0u64.. {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            line.clear();
            use std::fmt::Write as _;
            let _ = writeln!(
                line,
                "IAMAT {} +34.068930-118.445127 1700000000.{seq:09}",
                self.id
            );
            let sent = Instant::now();
            if conn.is_none() {
                conn = Some(connect(self.target).await);
            }
            let c = conn.as_mut().expect("connected");
            c.get_mut().write_all(line.as_bytes()).await.expect("write");
            reply.clear();
            let read = tokio::time::timeout(REPLY_PATIENCE, c.read_line(&mut reply)).await;
            assert!(
                matches!(read, Ok(Ok(n)) if n > 0) && (reply.starts_with("AT ") || reply == line),
                "no reply within {REPLY_PATIENCE:?}: {read:?} {reply:?}"
            );
            if self.counting.load(Ordering::Relaxed) {
                latencies.push(sent.elapsed());
            }
            self.replies.fetch_add(1, Ordering::Relaxed);
            if self.shape == Shape::Fresh {
                conn = None;
            }
        }
        latencies
    }
}

async fn connect(target: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(target).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    BufReader::new(stream)
}

/// The `q` quantile of sorted `samples`, in microseconds.
pub fn quantile_us(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e6
}
