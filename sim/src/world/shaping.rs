//! What the simulated network may do to one link connection besides
//! delaying its segments (turmoil's part): carry only so many bytes per
//! millisecond, take part of a write, hand a reader data in small pieces
//! and late, or reset the connection (a spurious drop). All of it is legal
//! TCP: a correct server copes with each.
//!
//! It also guards the simulator: turmoil cannot preempt a task, so a
//! server task that writes in a loop without ever waiting (a heartbeat of
//! 0 ms) would stall the run for good. Past `HOT_WRITES` writes to one
//! connection within one simulated millisecond the write panics instead,
//! and the server's task dies the way a real process's CPU-bound loop
//! would be noticed: loudly.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::ReadBuf;
use tokio::time::{sleep_until, Instant, Sleep};

use super::setup::Perturb;

/// More writes than any correct server makes to one connection within one
/// simulated millisecond (a 5 MB dump chunk in pieces of 64 bytes is 80,000).
const HOT_WRITES: u64 = 200_000;
/// A write under a bandwidth limit takes at most this many ms of it, so a
/// large buffer goes out over time, as on a slow link.
const WRITE_SLICE_MS: u64 = 10;

/// A connection's reset switch, flipped by a `reset` step.
#[derive(Default)]
pub struct ResetFlag {
    reset: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl ResetFlag {
    pub fn trip(&self) {
        self.reset.store(true, Ordering::Relaxed);
        let wakers = std::mem::take(&mut *self.wakers.lock().unwrap_or_else(|p| p.into_inner()));
        wakers.into_iter().for_each(Waker::wake);
    }

    fn check(&self, cx: &Context<'_>) -> io::Result<()> {
        if self.reset.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "reset by the network",
            ));
        }
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Ok(())
    }
}

/// One connection's perturbations and the state they keep.
pub struct Shaping {
    perturb: Perturb,
    pub reset: Arc<ResetFlag>,
    write_at: Option<Pin<Box<Sleep>>>,
    read_at: Option<Pin<Box<Sleep>>>,
    /// Time owed for bytes written and read, in microseconds, not yet
    /// waited out: a link's rate holds for many small pieces too.
    write_owed_us: u64,
    read_owed_us: u64,
    /// (the millisecond, writes within it), for the hot-loop guard.
    writes: (Instant, u64),
}

/// Whether a sleep stored in `slot` is still running.
fn waiting(slot: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>) -> bool {
    if let Some(sleep) = slot {
        if sleep.as_mut().poll(cx).is_pending() {
            return true;
        }
    }
    *slot = None;
    false
}

impl Shaping {
    pub fn new(perturb: Perturb, reset: Arc<ResetFlag>) -> Self {
        Self {
            perturb,
            reset,
            write_at: None,
            read_at: None,
            write_owed_us: 0,
            read_owed_us: 0,
            writes: (Instant::now(), 0),
        }
    }

    /// How much of `len` bytes the next write may take, or `Pending`.
    pub fn before_write(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<usize>> {
        self.reset.check(cx)?;
        let now = Instant::now();
        let ms = now
            .into_std()
            .duration_since(self.writes.0.into_std())
            .as_millis();
        self.writes = if ms >= 1 {
            (now, 1)
        } else {
            (self.writes.0, self.writes.1 + 1)
        };
        assert!(
            self.writes.1 < HOT_WRITES,
            "hot loop: {HOT_WRITES} writes to one connection within one simulated millisecond"
        );
        if waiting(&mut self.write_at, cx) {
            return Poll::Pending;
        }
        let mut most = len as u64;
        if self.perturb.write_max_bytes > 0 {
            most = most.min(self.perturb.write_max_bytes);
        }
        if self.perturb.bandwidth_bytes_per_ms > 0 {
            most = most.min(self.perturb.bandwidth_bytes_per_ms * WRITE_SLICE_MS);
        }
        Poll::Ready(Ok(most.max(1) as usize))
    }

    /// `written` bytes went out: under a bandwidth limit, the link is busy
    /// for as long as they take.
    pub fn after_write(&mut self, written: usize) {
        if let Some(us) = (written as u64 * 1_000).checked_div(self.perturb.bandwidth_bytes_per_ms) {
            self.write_owed_us += us;
            self.write_at = pause(&mut self.write_owed_us);
        }
    }

    /// How much the next read may hand over, or `Pending`.
    pub fn before_read(&mut self, cx: &mut Context<'_>, room: usize) -> Poll<io::Result<usize>> {
        self.reset.check(cx)?;
        if waiting(&mut self.read_at, cx) {
            return Poll::Pending;
        }
        let most = match self.perturb.read_max_bytes {
            0 => room,
            max => room.min(max as usize),
        };
        Poll::Ready(Ok(most))
    }

    /// A slow reader takes `read_max_bytes` every `read_pause_ms`.
    pub fn after_read(&mut self, got: usize) {
        let (most, every) = (self.perturb.read_max_bytes.max(1), self.perturb.read_pause_ms);
        if every > 0 {
            self.read_owed_us += got as u64 * every * 1_000 / most;
            self.read_at = pause(&mut self.read_owed_us);
        }
    }
}

/// A sleep for the whole milliseconds of `owed_us`, which keeps the rest.
fn pause(owed_us: &mut u64) -> Option<Pin<Box<Sleep>>> {
    let ms = *owed_us / 1_000;
    *owed_us %= 1_000;
    (ms > 0).then(|| Box::pin(sleep_until(Instant::now() + Duration::from_millis(ms))))
}

/// Reads into at most `most` bytes of `buf` through `read` (through a
/// buffer of that size only when `most` is less than `buf` has room for).
pub fn read_limited(
    buf: &mut ReadBuf<'_>,
    most: usize,
    read: impl FnOnce(&mut ReadBuf<'_>) -> Poll<io::Result<()>>,
) -> Poll<io::Result<usize>> {
    if most >= buf.remaining() {
        let before = buf.filled().len();
        return read(buf).map_ok(|()| buf.filled().len() - before);
    }
    let mut scratch = vec![0u8; most];
    let mut part = ReadBuf::new(&mut scratch);
    let result = read(&mut part);
    buf.put_slice(part.filled());
    result.map_ok(|()| part.filled().len())
}
