//! What one server holds: its location store and the feeds of the
//! neighbours subscribed to it. One lock covers both, so a new subscriber's
//! catch-up snapshot and its registration happen at one instant and no
//! update can fall between them.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::bugs::Bugs;
use crate::config::{Flooding, HerdConfig};
use crate::observe::{self, Event, SharedObserver, Source};
use crate::protocol::Update;
use crate::store::Store;

/// Shared by every task of one server; the simulator keeps a clone to
/// check convergence and invariants from outside.
pub struct ServerState {
    pub name: String,
    pub herd: Arc<HerdConfig>,
    inner: Mutex<Inner>,
    /// Bumped when one of our links dies under pruned flooding: every other
    /// link then asks its neighbour for a fresh dump (see `request_resync`).
    resync: watch::Sender<u64>,
    /// Where store changes are reported; set once the server starts.
    observer: OnceLock<SharedObserver>,
}

#[derive(Default)]
struct Inner {
    store: Store,
    feeds: Vec<Feed>,
    next_feed_id: u64,
}

struct Feed {
    id: u64,
    neighbour: String,
    queue: mpsc::Sender<Forward>,
    /// When the subscriber was last heard from (it pings every heartbeat).
    heard_at: Instant,
}

/// One update on its way to a neighbour, with the servers it has been sent
/// to (empty unless flooding is pruned).
#[derive(Debug, Clone)]
pub struct Forward {
    pub update: Update,
    pub seen: Arc<Vec<String>>,
}

/// A registered feed: the catch-up snapshot and the queue of what follows.
pub struct Subscription {
    pub id: u64,
    pub snapshot: Vec<Update>,
    pub queue: mpsc::Receiver<Forward>,
}

impl ServerState {
    pub fn new(name: &str, herd: Arc<HerdConfig>) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_string(),
            herd,
            inner: Mutex::default(),
            resync: watch::Sender::new(0),
            observer: OnceLock::new(),
        })
    }

    /// Reports every store change to `observer` from now on (the first
    /// observer set stays).
    pub fn observe(&self, observer: SharedObserver) {
        let _ = self.observer.set(observer);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the store half-updated (merge is
        // one map operation), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges an update and, if it changed the store, queues it for every
    /// subscribed neighbour except `from` (which already holds it or newer)
    /// and, with pruned flooding, except those in `seen` (which were sent it
    /// already). A neighbour whose queue is full is cut off: its link
    /// reconnects and catches up from a fresh snapshot, so nothing is lost.
    pub fn apply(&self, update: Update, source: Source<'_>, seen: &[String], bugs: Bugs) -> bool {
        let from = match source {
            Source::Neighbour(name) => Some(name),
            Source::Client(_) => None,
        };
        let mut inner = self.lock();
        let replaced = inner.store.get(&update.client).cloned();
        let changed = if crate::bug!(bugs, StaleOverwrite) {
            inner.store.overwrite(update.clone())
        } else {
            inner.store.merge(update.clone())
        };
        if changed {
            if let Some(observer) = self.observer.get() {
                observe::report(
                    &**observer,
                    Event::Stored {
                        update: &update,
                        replaced: replaced.as_ref(),
                        source,
                    },
                );
            }
        }
        let looping = crate::bug!(bugs, ForwardingLoop);
        if !changed && !looping {
            return false;
        }
        let pruned = self.herd.tuning.flooding == Flooding::Pruned;
        let skip = |neighbour: &str| {
            !looping && (Some(neighbour) == from || (pruned && seen.iter().any(|s| s == neighbour)))
        };
        let seen = if pruned {
            // Only a neighbour heard from within the last heartbeat and a
            // half counts as sent: an update queued on a link that has
            // silently died must stay deliverable by the other paths.
            let heartbeat = Duration::from_millis(self.herd.tuning.heartbeat_ms);
            let fresh_since = Instant::now().checked_sub(heartbeat + heartbeat / 2);
            let mut all: Vec<String> = seen.to_vec();
            all.push(self.name.clone());
            all.extend(
                inner
                    .feeds
                    .iter()
                    .filter(|f| !skip(&f.neighbour) && fresh_since.is_none_or(|t| f.heard_at >= t))
                    .map(|f| f.neighbour.clone()),
            );
            all.sort();
            all.dedup();
            all
        } else {
            Vec::new()
        };
        let forward = Forward {
            update,
            seen: Arc::new(seen),
        };
        inner
            .feeds
            .retain(|feed| skip(&feed.neighbour) || feed.queue.try_send(forward.clone()).is_ok());
        changed
    }

    pub fn get(&self, client: &str) -> Option<Update> {
        self.lock().store.get(client).cloned()
    }

    /// Every held update, in client order.
    pub fn snapshot(&self) -> Vec<Update> {
        self.lock().store.iter().cloned().collect()
    }

    /// Registers a feed for `neighbour`. An older feed of the same name is
    /// left alone: after a silent failure it ends by itself within
    /// `dead_after_ms`, and a client merely claiming the name cannot knock
    /// the real neighbour's feed over.
    pub fn subscribe(&self, neighbour: &str, queue_len: usize) -> Subscription {
        let mut inner = self.lock();
        let (tx, rx) = mpsc::channel(queue_len.max(1));
        inner.next_feed_id += 1;
        let id = inner.next_feed_id;
        inner.feeds.push(Feed {
            id,
            neighbour: neighbour.to_string(),
            queue: tx,
            heard_at: Instant::now(),
        });
        Subscription {
            id,
            snapshot: inner.store.iter().cloned().collect(),
            queue: rx,
        }
    }

    /// The subscriber of feed `id` said something (a heartbeat, mostly).
    pub fn heard(&self, id: u64) {
        if let Some(feed) = self.lock().feeds.iter_mut().find(|f| f.id == id) {
            feed.heard_at = Instant::now();
        }
    }

    /// Under pruned flooding, an update may have been marked as sent to a
    /// neighbour just before its link silently died, so the others did not
    /// forward it there. When a link dies we therefore ask every other
    /// neighbour for a full dump: what we missed reaches us by another path.
    pub fn request_resync(&self) {
        self.resync.send_modify(|n| *n += 1);
    }

    /// Changes each time `request_resync` is called.
    pub fn resync_requests(&self) -> watch::Receiver<u64> {
        self.resync.subscribe()
    }

    pub fn unsubscribe(&self, id: u64) {
        self.lock().feeds.retain(|f| f.id != id);
    }
}
