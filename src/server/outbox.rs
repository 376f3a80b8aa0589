//! What one neighbour's feed still has to send, and what it sent and waits
//! to hear acknowledged. Pending updates are coalesced per client: a newer
//! update takes the place of an older one still waiting, so a slow
//! neighbour never has more pending than the store has clients, and no
//! link is ever dropped for being behind.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::ack::Engagement;
use crate::protocol::Update;

/// One update on its way to the neighbour.
#[derive(Debug, Clone)]
pub struct Forward {
    pub update: Update,
    /// The servers it has been sent to (empty unless flooding is pruned).
    pub seen: Arc<[String]>,
}

struct Pending {
    forward: Forward,
    waiters: Vec<Arc<Engagement>>,
}

struct InFlight {
    client: Arc<str>,
    waiters: Vec<Arc<Engagement>>,
}

#[derive(Default)]
struct Inner {
    order: VecDeque<Arc<str>>,
    pending: HashMap<Arc<str>, Pending>,
    /// By sequence number, so giving up releases waiters in a fixed order.
    in_flight: BTreeMap<u64, InFlight>,
    /// The sequence number of each client's newest update in flight.
    newest_in_flight: HashMap<Arc<str>, u64>,
    /// Pending entries someone waits on.
    pending_waited: usize,
    next_seq: u64,
    closed: bool,
}

impl Inner {
    fn has_waiters(&self) -> bool {
        !self.in_flight.is_empty() || self.pending_waited > 0
    }
}

pub struct Outbox {
    inner: Mutex<Inner>,
    /// The feed's writer has something to send.
    pub ready: Notify,
    /// Pending updates went out: clients held back for room may go on.
    pub drained: Notify,
    /// Someone started to wait on an acknowledgement through this feed
    /// where nobody did: its give-up timer must start.
    pub waiting: Notify,
    /// When the neighbour last said anything on this feed.
    heard_at: Mutex<Instant>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            ready: Notify::new(),
            drained: Notify::new(),
            waiting: Notify::new(),
            heard_at: Mutex::new(Instant::now()),
        }
    }
}

/// A batch for the writer: `(seq, forward)`, where `seq` is `None` when
/// nobody waits for an acknowledgement.
pub type Batch = Vec<(Option<u64>, Forward)>;

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `forward`, replacing an older pending update of the same
    /// client, and makes `waiter` (if any) wait for its acknowledgement.
    /// On a closed outbox the waiter is not held up.
    pub fn push(&self, forward: Forward, waiter: Option<&Arc<Engagement>>) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.closed {
            return;
        }
        if waiter.is_some() && !inner.has_waiters() {
            self.waiting.notify_one();
        }
        let client = forward.update.client.as_str();
        if let Some(pending) = inner.pending.get_mut(client) {
            if forward.update.precedence(&pending.forward.update).is_gt() {
                pending.forward = forward;
            }
            if let Some(w) = waiter {
                w.add();
                if pending.waiters.is_empty() {
                    inner.pending_waited += 1;
                }
                pending.waiters.push(w.clone());
            }
            return;
        }
        let client: Arc<str> = client.into();
        if let Some(w) = waiter {
            w.add();
            inner.pending_waited += 1;
        }
        inner.order.push_back(client.clone());
        inner.pending.insert(
            client,
            Pending {
                forward,
                waiters: waiter.cloned().into_iter().collect(),
            },
        );
        drop(guard);
        self.ready.notify_one();
    }

    /// Makes `waiter` wait for whatever this feed still has to deliver of
    /// `client` (pending or in flight). Returns whether there was anything.
    pub fn wait_for_client(&self, client: &str, waiter: &Arc<Engagement>) -> bool {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let first = !inner.has_waiters();
        if let Some(pending) = inner.pending.get_mut(client) {
            if first {
                self.waiting.notify_one();
            }
            waiter.add();
            let first = pending.waiters.is_empty();
            pending.waiters.push(waiter.clone());
            inner.pending_waited += usize::from(first);
            return true;
        }
        let Some(&seq) = inner.newest_in_flight.get(client) else {
            return false;
        };
        match inner.in_flight.get_mut(&seq) {
            Some(flight) => {
                if first {
                    self.waiting.notify_one();
                }
                waiter.add();
                flight.waiters.push(waiter.clone());
                true
            }
            None => false,
        }
    }

    /// Up to `max` pending updates, oldest first, numbered for
    /// acknowledgement where someone waits for one.
    pub fn take_batch(&self, max: usize) -> Batch {
        let mut inner = self.lock();
        let mut batch = Vec::new();
        while batch.len() < max {
            let Some(client) = inner.order.pop_front() else {
                break;
            };
            let Some(pending) = inner.pending.remove(&client) else {
                continue;
            };
            let seq = if pending.waiters.is_empty() {
                None
            } else {
                inner.pending_waited -= 1;
                inner.next_seq += 1;
                let seq = inner.next_seq;
                inner.newest_in_flight.insert(client.clone(), seq);
                inner.in_flight.insert(
                    seq,
                    InFlight {
                        client,
                        waiters: pending.waiters,
                    },
                );
                Some(seq)
            };
            batch.push((seq, pending.forward));
        }
        drop(inner);
        if !batch.is_empty() {
            self.drained.notify_waiters();
        }
        batch
    }

    /// The neighbour acknowledged `seq`.
    pub fn acked(&self, seq: u64) {
        let mut inner = self.lock();
        let Some(flight) = inner.in_flight.remove(&seq) else {
            return;
        };
        if inner.newest_in_flight.get(&flight.client) == Some(&seq) {
            inner.newest_in_flight.remove(&flight.client);
        }
        drop(inner);
        flight.waiters.iter().for_each(|w| w.release());
    }

    /// Stops waiting for anything this feed holds; returns how many
    /// updates were still unacknowledged. With `close`, nothing more is queued.
    pub fn give_up(&self, close: bool) -> usize {
        let mut inner = self.lock();
        inner.closed |= close;
        let mut waiters: Vec<Arc<Engagement>> = Vec::new();
        let mut count = 0;
        for (_, flight) in std::mem::take(&mut inner.in_flight) {
            count += 1;
            waiters.extend(flight.waiters);
        }
        inner.newest_in_flight.clear();
        if inner.pending_waited > 0 {
            let Inner { order, pending, .. } = &mut *inner;
            // In queue order, not the map's (which differs run to run).
            for client in order.iter() {
                if let Some(p) = pending.get_mut(client).filter(|p| !p.waiters.is_empty()) {
                    count += 1;
                    waiters.append(&mut p.waiters);
                }
            }
            inner.pending_waited = 0;
        }
        if close {
            inner.pending.clear();
            inner.order.clear();
        }
        drop(inner);
        waiters.iter().for_each(|w| w.release());
        if close {
            self.drained.notify_waiters();
            self.ready.notify_one();
        }
        count
    }

    /// Closed by `give_up(true)`: the feed is over (superseded or ended).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    pub fn pending_len(&self) -> usize {
        self.lock().pending.len()
    }

    /// Whether anyone waits on an acknowledgement through this feed.
    pub fn has_waiters(&self) -> bool {
        self.lock().has_waiters()
    }

    pub fn heard(&self) {
        *self.heard_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    pub fn heard_at(&self) -> Instant {
        *self.heard_at.lock().unwrap_or_else(|p| p.into_inner())
    }
}
