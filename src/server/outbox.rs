//! What one neighbour's feed still has to send, and what it sent and waits
//! to hear acknowledged. Pending updates are coalesced per client: a newer
//! update takes the place of an older one still waiting, so a slow
//! neighbour never has more pending than the store has clients, and no
//! link is ever dropped for being behind.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::ack::Engagement;
use crate::protocol::Update;

/// One update on its way to the neighbour. Both parts are shared with the
/// other neighbours' outboxes it goes to.
#[derive(Debug, Clone)]
pub struct Forward {
    pub update: Arc<Update>,
    /// The servers it has been sent to (`None` unless flooding is pruned).
    pub seen: Option<Arc<[String]>>,
}

/// A client's ID as a key, borrowed from an update of that client: keying
/// by client copies nothing.
#[derive(Clone)]
struct Client(Arc<Update>);

impl Borrow<str> for Client {
    fn borrow(&self) -> &str {
        &self.0.client
    }
}

impl PartialEq for Client {
    fn eq(&self, other: &Self) -> bool {
        self.0.client == other.0.client
    }
}

impl Eq for Client {}

impl Hash for Client {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes, so that lookups by `&str` find it.
        self.0.client.as_str().hash(state);
    }
}

struct Pending {
    forward: Forward,
    waiters: Vec<Arc<Engagement>>,
}

struct InFlight {
    client: Client,
    waiters: Vec<Arc<Engagement>>,
}

#[derive(Default)]
struct Inner {
    order: VecDeque<Client>,
    pending: HashMap<Client, Pending>,
    /// By sequence number, so giving up releases waiters in a fixed order.
    in_flight: Flights,
    /// The sequence number of each client's newest update in flight.
    newest_in_flight: HashMap<Client, u64>,
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

/// What was sent and not yet acknowledged, by sequence number. Numbers are
/// handed out one after another, so a ring from the oldest still owed
/// serves every operation in constant time, and walks in number order.
#[derive(Default)]
struct Flights {
    /// The sequence number of `slots[0]`.
    first: u64,
    slots: VecDeque<Option<InFlight>>,
    owed: usize,
}

impl Flights {
    fn is_empty(&self) -> bool {
        self.owed == 0
    }

    /// `seq` must follow the last one inserted (or anything, when empty).
    fn insert(&mut self, seq: u64, flight: InFlight) {
        if self.slots.is_empty() {
            self.first = seq;
        }
        debug_assert_eq!(seq, self.first + self.slots.len() as u64);
        self.slots.push_back(Some(flight));
        self.owed += 1;
    }

    fn slot(&mut self, seq: u64) -> Option<&mut Option<InFlight>> {
        let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.slots.get_mut(index)
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut InFlight> {
        self.slot(seq)?.as_mut()
    }

    fn remove(&mut self, seq: u64) -> Option<InFlight> {
        let flight = self.slot(seq)?.take()?;
        self.owed -= 1;
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first += 1;
        }
        Some(flight)
    }

    /// Everything still owed, oldest first; leaves it empty.
    fn take_all(&mut self) -> impl Iterator<Item = InFlight> {
        self.owed = 0;
        std::mem::take(&mut self.slots).into_iter().flatten()
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
        let client = Client(forward.update.clone());
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
        match inner.in_flight.get_mut(seq) {
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

    /// Hands up to `max` pending updates to `each`, oldest first, each
    /// with its sequence number where someone waits for an
    /// acknowledgement (`None` where nobody does). Returns how many.
    pub fn take_batch(&self, max: usize, mut each: impl FnMut(Option<u64>, Forward)) -> usize {
        let mut inner = self.lock();
        let mut taken = 0;
        while taken < max {
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
            each(seq, pending.forward);
            taken += 1;
        }
        drop(inner);
        if taken > 0 {
            self.drained.notify_waiters();
        }
        taken
    }

    /// The neighbour acknowledged `seq`.
    pub fn acked(&self, seq: u64) {
        let mut inner = self.lock();
        let Some(flight) = inner.in_flight.remove(seq) else {
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
        for flight in inner.in_flight.take_all() {
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
