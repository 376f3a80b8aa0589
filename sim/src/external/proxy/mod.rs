//! The TCP proxies herd-sim puts on every link, in both directions: a
//! server's config names a proxy for each neighbour, and the proxy
//! connects on to the neighbour. The scenario's link faults act here, on
//! the bytes going from one server to another (whichever end opened the
//! connection):
//! - a partition (`cut`) drops them silently: the connection stays open,
//!   as in a real partition, and once a byte is lost that direction of
//!   that connection stays dead (as a stream that lost a segment for good
//!   would; the herd must notice and open a new one);
//! - a hold keeps them, and a release delivers them late, in order;
//! - latency delays them (on top of the scenario's `[network]` latency);
//! - loss drops a read's worth with the given chance, with the same
//!   effect as a partition's first lost byte.
//!
//! Each complete line is recorded as sent (by the server it came from, when
//! the proxy read it) and as received (when the proxy wrote it on), typed by
//! `wire` where it can be.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::observe::{Fault, ServerEvent};

use super::recording::Recording;
use super::wire::typed;

/// Reads (of at most `READ_BYTES`) one direction may have in flight.
const IN_FLIGHT: usize = 256;
const READ_BYTES: usize = 16 * 1024;
/// A line longer than this is not recorded (its bytes still pass).
const MAX_LINE_BYTES: usize = 64 * 1024;
/// How often a held direction looks whether it was released.
const HOLD_POLL: Duration = Duration::from_millis(2);
/// Connections one proxy carries at once; past it a newcomer is closed at
/// once, as a refused connection. A herd that opens one connection per
/// message and leaves those a partition killed open reaches it only after
/// long partitions.
const MAX_CONNECTIONS: usize = 1024;

/// What the scenario has done to the bytes from one server to another.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    cut: bool,
    held: bool,
    latency_ms: Option<u64>,
    loss: f64,
}

/// The state every proxy of a run shares: faults by (from, to), what was
/// seen, and where records go.
pub struct Wires {
    faults: RefCell<BTreeMap<(String, String), Faults>>,
    /// The scenario's `[network] latency_ms`, for every link.
    latency_ms: [u64; 2],
    rng: RefCell<SmallRng>,
    recording: Rc<Recording>,
    /// Connections accepted, over all proxies.
    accepted: Cell<u64>,
}

impl Wires {
    pub fn new(latency_ms: [u64; 2], seed: u64, recording: Rc<Recording>) -> Self {
        Self {
            faults: RefCell::default(),
            latency_ms,
            rng: RefCell::new(SmallRng::seed_from_u64(seed)),
            recording,
            accepted: Cell::new(0),
        }
    }

    /// Where the proxies' records go.
    pub fn recording(&self) -> Rc<Recording> {
        self.recording.clone()
    }

    /// Connections the proxies have accepted: none means the herd does not
    /// dial the addresses in its config.
    pub fn accepted(&self) -> u64 {
        self.accepted.get()
    }

    fn faults(&self, from: &str, to: &str) -> Faults {
        let key = (from.to_string(), to.to_string());
        self.faults.borrow().get(&key).copied().unwrap_or_default()
    }

    fn change(&self, a: &[String], b: &[String], both_ways: bool, f: impl Fn(&mut Faults)) {
        let mut faults = self.faults.borrow_mut();
        for x in a {
            for y in b {
                f(faults.entry((x.clone(), y.clone())).or_default());
                if both_ways {
                    f(faults.entry((y.clone(), x.clone())).or_default());
                }
            }
        }
    }

    /// Applies a link fault; false for a fault that is not about links.
    pub fn apply(&self, fault: &Fault) -> bool {
        match fault {
            Fault::Partition { a, b, oneway } => self.change(a, b, !oneway, |f| f.cut = true),
            Fault::Heal { a, b, oneway } => self.change(a, b, !oneway, |f| f.cut = false),
            Fault::Hold { a, b } => self.change(a, b, true, |f| f.held = true),
            Fault::Release { a, b } => self.change(a, b, true, |f| f.held = false),
            Fault::Latency { a, b, ms } => self.change(a, b, true, |f| f.latency_ms = Some(*ms)),
            Fault::Loss { a, b, rate } => self.change(a, b, true, |f| f.loss = *rate),
            _ => return false,
        }
        true
    }

    fn delay(&self, faults: &Faults) -> Duration {
        let [min, max] = self.latency_ms;
        let base = self.rng.borrow_mut().random_range(min..=max.max(min));
        Duration::from_millis(base + faults.latency_ms.unwrap_or(0))
    }

    fn lost(&self, faults: &Faults) -> bool {
        faults.loss > 0.0 && self.rng.borrow_mut().random::<f64>() < faults.loss
    }

    fn record(&self, dir: &Direction, lines: &[Vec<u8>], sent: bool) {
        for line in lines {
            let Some(message) = typed(line) else { continue };
            let (host, event) = if sent {
                let event = ServerEvent::PeerSend {
                    conn: dir.conn,
                    neighbour: dir.to.clone(),
                    message,
                };
                (&dir.from, event)
            } else {
                let event = ServerEvent::PeerRecv {
                    conn: dir.conn,
                    neighbour: dir.from.clone(),
                    message,
                };
                (&dir.to, event)
            };
            self.recording.server(host, event);
        }
    }
}

/// One direction of one proxied connection.
struct Direction {
    from: String,
    to: String,
    conn: u64,
    /// A byte was lost: nothing more goes through.
    dead: Cell<bool>,
}

/// Accepts connections `from` makes to reach `to` at `target`, for as long
/// as the run lasts.
pub async fn serve(listener: TcpListener, from: String, to: String, target: SocketAddr, wires: Rc<Wires>) {
    let mut conns = 0u64;
    let live = Rc::new(Cell::new(0usize));
    while let Ok((inbound, _)) = listener.accept().await {
        wires.accepted.set(wires.accepted.get() + 1);
        if live.get() >= MAX_CONNECTIONS {
            continue;
        }
        conns += 1;
        live.set(live.get() + 1);
        let (ends, wires, live) = ((from.clone(), to.clone()), wires.clone(), live.clone());
        tokio::task::spawn_local(async move {
            carry(inbound, ends, conns, target, wires).await;
            live.set(live.get() - 1);
        });
    }
}

async fn carry(
    inbound: TcpStream,
    (from, to): (String, String),
    conn: u64,
    target: SocketAddr,
    wires: Rc<Wires>,
) {
    // A neighbour that is down refuses; the opener then sees its connection close.
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = (inbound.set_nodelay(true), outbound.set_nodelay(true));
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let there = Direction {
        from: from.clone(),
        to: to.clone(),
        conn,
        dead: Cell::new(false),
    };
    let back = Direction {
        from: to,
        to: from,
        conn,
        dead: Cell::new(false),
    };
    // A dead direction keeps its far end open (silence, not a close) until
    // the connection is over both ways.
    let _ends = tokio::join!(
        pump(in_read, out_write, &there, &wires),
        pump(out_read, in_write, &back, &wires)
    );
}

/// A read's worth of bytes on its way, or the end of the stream.
enum Item {
    Bytes {
        bytes: Vec<u8>,
        lines: Vec<Vec<u8>>,
        at: Instant,
    },
    End,
}

/// Carries one direction until its source closes; gives back the write
/// half when the direction died, so that its end stays open.
async fn pump(
    mut src: OwnedReadHalf,
    dst: OwnedWriteHalf,
    dir: &Direction,
    wires: &Wires,
) -> Option<OwnedWriteHalf> {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let read = async {
        let mut partial: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; READ_BYTES];
        loop {
            let n = match src.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let lines = split_lines(&mut partial, &chunk[..n]);
            wires.record(dir, &lines, true);
            let faults = wires.faults(&dir.from, &dir.to);
            if dir.dead.get() || faults.cut || wires.lost(&faults) {
                dir.dead.set(true);
                continue;
            }
            let at = Instant::now() + wires.delay(&faults);
            let item = Item::Bytes {
                bytes: chunk[..n].to_vec(),
                lines,
                at,
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
        let _ = tx.send(Item::End).await;
    };
    let (_, dst) = tokio::join!(read, deliver(rx, dst, dir, wires));
    dst
}

async fn deliver(
    mut rx: mpsc::Receiver<Item>,
    mut dst: OwnedWriteHalf,
    dir: &Direction,
    wires: &Wires,
) -> Option<OwnedWriteHalf> {
    let mut last = Instant::now();
    while let Some(item) = rx.recv().await {
        let Item::Bytes { bytes, lines, at } = item else {
            if dir.dead.get() {
                return Some(dst);
            }
            let _ = dst.shutdown().await;
            return None;
        };
        // Later bytes never overtake earlier ones. A timer would cost a
        // tick of tokio's clock (1 ms) even when nothing is to wait for.
        last = last.max(at);
        if last > Instant::now() {
            tokio::time::sleep_until(last).await;
        }
        while wires.faults(&dir.from, &dir.to).held {
            tokio::time::sleep(HOLD_POLL).await;
        }
        if dir.dead.get() || wires.faults(&dir.from, &dir.to).cut {
            dir.dead.set(true);
            continue;
        }
        if dst.write_all(&bytes).await.is_err() {
            return None;
        }
        wires.record(dir, &lines, false);
    }
    None
}

/// The lines `bytes` completes, `partial` keeping the unfinished rest
/// (dropped past `MAX_LINE_BYTES`: such a line is not recorded).
fn split_lines(partial: &mut Vec<u8>, bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for piece in bytes.split_inclusive(|&b| b == b'\n') {
        if partial.len() + piece.len() <= MAX_LINE_BYTES {
            partial.extend_from_slice(piece);
        } else {
            partial.clear();
        }
        if piece.ends_with(b"\n") {
            let mut line = std::mem::take(partial);
            line.pop();
            if line.ends_with(b"\r") {
                line.pop();
            }
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests;
