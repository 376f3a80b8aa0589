//! What one server holds: its location store and the feeds of the
//! neighbours subscribed to it. One lock covers both, so a feed's
//! registration and every later change reach it in order, and no update can
//! fall between a catch-up read and the queue behind it.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::watch;

use super::ack::{Done, Engagement};
use super::flood::Policy;
use super::outbox::{Forward, Outbox};
use crate::bugs::Bugs;
use crate::config::HerdConfig;
use crate::observe::{self, Event, Level, SharedObserver, Source};
use crate::protocol::Update;
use crate::store::{Merge, Store};

/// Shared by every task of one server; tests and the simulator keep a
/// clone to look at the store from outside.
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

struct Inner {
    store: Store,
    feeds: Vec<Feed>,
    next_feed_id: u64,
}

struct Feed {
    id: u64,
    neighbour: String,
    outbox: Arc<Outbox>,
}

/// A registered feed.
pub struct Subscription {
    pub id: u64,
    pub outbox: Arc<Outbox>,
}

impl ServerState {
    pub fn new(name: &str, herd: Arc<HerdConfig>) -> Arc<Self> {
        let max_clients = herd.tuning.max_clients;
        Arc::new(Self {
            name: name.to_string(),
            herd,
            inner: Mutex::new(Inner {
                store: Store::new(max_clients),
                feeds: Vec::new(),
                next_feed_id: 0,
            }),
            resync: watch::Sender::new(0),
            observer: OnceLock::new(),
        })
    }

    /// Reports every store change to `observer` from now on (the first
    /// observer set stays).
    pub fn observe(&self, observer: SharedObserver) {
        let _ = self.observer.set(observer);
    }

    fn report(&self, event: Event<'_>) {
        if let Some(observer) = self.observer.get() {
            observe::report(&**observer, event);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the store half-updated (merge is
        // one map operation), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges an update and, if it changed the store, queues it for the
    /// subscribed neighbours the flooding policy picks. `done`, if given,
    /// fires once those neighbours have acknowledged it (see ack.rs); an
    /// update that changes nothing fires it at once, or when the newer
    /// update held for that client is acknowledged. Returns whether the
    /// store changed.
    pub fn apply(
        &self,
        update: Arc<Update>,
        source: Source<'_>,
        seen: &[String],
        done: Option<Done>,
        bugs: Bugs,
    ) -> bool {
        let from = match source {
            Source::Neighbour(name) => Some(name),
            Source::Client(_) => None,
        };
        // What it replaces is only worked out for an observer that shows it.
        let observer = self.observer.get();
        let show_stored = observer.is_some_and(|o| o.enabled(Level::Debug));
        let mut inner = self.lock();
        let replaced = show_stored.then(|| inner.store.get(&update.client)).flatten();
        let merged = if crate::bug!(bugs, StaleOverwrite) {
            inner.store.overwrite(&update)
        } else {
            inner.store.merge(&update)
        };
        if let Merge::Stored { evicted, .. } = &merged {
            if let Some(evicted) = evicted {
                self.report(Event::Evicted { update: evicted });
            }
            self.report(Event::Stored {
                update: &update,
                replaced: replaced.as_ref(),
                source,
            });
        }
        let looping = crate::bug!(bugs, ForwardingLoop);
        let engagement = done.map(Engagement::new);
        // A client's IAMAT older than what is held still goes out: servers
        // the newer update has not reached yet must get this one (or wait
        // for the newer) before the client is told it is taken.
        let older_from_client = matches!(source, Source::Client(_))
            && engagement.is_some()
            && !crate::bug!(bugs, OlderIamatAckedEarly);
        if merged.changed() || looping || older_from_client {
            self.forward(&inner, &update, from, seen, looping, engagement.as_ref());
        } else if let (Merge::Unchanged, Some(engagement)) = (&merged, &engagement) {
            // Something newer (or this very update) is held: if it is
            // still being acknowledged, this acknowledgement waits for it.
            if inner.store.holds_newer(&update) {
                for feed in &inner.feeds {
                    feed.outbox.wait_for_client(&update.client, engagement);
                }
            }
        }
        drop(inner);
        if let Some(engagement) = engagement {
            engagement.arm_released();
        }
        merged.changed()
    }

    fn forward(
        &self,
        inner: &Inner,
        update: &Arc<Update>,
        from: Option<&str>,
        seen: &[String],
        looping: bool,
        engagement: Option<&Arc<Engagement>>,
    ) {
        let tuning = &self.herd.tuning;
        let policy = Policy {
            flooding: tuning.flooding,
            heartbeat: Duration::from_millis(tuning.heartbeat_ms),
            looping,
        };
        let targets = inner
            .feeds
            .iter()
            .filter(|f| policy.sends_to(&f.neighbour, from, seen));
        let heard = targets
            .clone()
            .map(|f| (f.neighbour.as_str(), f.outbox.heard_at()));
        let seen: Option<Arc<[String]>> = policy.seen_after(&self.name, heard, seen).map(Into::into);
        for feed in targets {
            let forward = Forward {
                update: update.clone(),
                seen: seen.clone(),
            };
            feed.outbox.push(forward, engagement);
        }
    }

    pub fn get(&self, client: &str) -> Option<Update> {
        self.lock().store.get(client)
    }

    /// Every held update, in client order.
    pub fn snapshot(&self) -> Vec<Update> {
        self.lock().store.iter().collect()
    }

    /// A catch-up chunk: up to `limit` updates of clients after `after`.
    pub fn chunk_after(&self, after: Option<&str>, limit: usize) -> Vec<Update> {
        self.lock().store.chunk_after(after, limit)
    }

    pub fn len(&self) -> usize {
        self.lock().store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registers a feed for `neighbour`. Any older feed of the same name is
    /// returned for the caller to end: only one feed per neighbour lives, so
    /// a neighbour that reconnects after a silent failure is served at once.
    pub fn subscribe(&self, neighbour: &str) -> (Subscription, Vec<Arc<Outbox>>) {
        let mut inner = self.lock();
        inner.next_feed_id += 1;
        let id = inner.next_feed_id;
        let outbox = Arc::new(Outbox::default());
        let (older, kept): (Vec<Feed>, Vec<Feed>) = std::mem::take(&mut inner.feeds)
            .into_iter()
            .partition(|f| f.neighbour == neighbour);
        inner.feeds = kept;
        inner.feeds.push(Feed {
            id,
            neighbour: neighbour.to_string(),
            outbox: outbox.clone(),
        });
        (
            Subscription { id, outbox },
            older.into_iter().map(|f| f.outbox).collect(),
        )
    }

    pub fn unsubscribe(&self, id: u64) {
        self.lock().feeds.retain(|f| f.id != id);
    }

    /// Waits until no feed has more than `limit` updates pending: a client
    /// that sends faster than the herd floods is not read meanwhile.
    pub async fn room_for_more(&self, limit: usize) {
        loop {
            let congested = self
                .lock()
                .feeds
                .iter()
                .find(|f| f.outbox.pending_len() > limit)
                .map(|f| f.outbox.clone());
            let Some(outbox) = congested else {
                return;
            };
            let drained = outbox.drained.notified();
            if outbox.pending_len() <= limit {
                continue;
            }
            drained.await;
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
}
