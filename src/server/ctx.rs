//! What every task of one server shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use tokio::sync::Notify;

use super::ack::Done;
use super::handshake::{self, Secret};
use super::{ServerEnv, ServerState};
use crate::bugs::Bugs;
use crate::clock::SharedClock;
use crate::config::Tuning;
use crate::net::Net;
use crate::observe::{self, ConnId, Event, SharedObserver, Source};
use crate::places::Places;
use crate::protocol::Update;

#[derive(Clone)]
pub(super) struct Ctx {
    pub state: Arc<ServerState>,
    pub clock: SharedClock,
    pub places: Arc<dyn Places>,
    pub observer: SharedObserver,
    pub tuning: Tuning,
    pub bugs: Bugs,
    pub secret: Option<Secret>,
    /// The port our link listener got, for `HERD LINKPORT?`.
    pub link_port: u16,
    conns: Arc<AtomicU64>,
    /// Nonces for handshakes: unpredictable in production (seeded from the
    /// OS), reproducible in the simulator (seeded from the run's seed).
    rng: Arc<Mutex<ChaCha12Rng>>,
    seed: u64,
    /// Wakes our link to a neighbour out of its backoff: that neighbour
    /// just said hello, so it is back.
    kicks: Arc<HashMap<String, Notify>>,
}

impl Ctx {
    pub fn new<N: Net>(state: &Arc<ServerState>, env: &ServerEnv<N>, link_port: u16) -> Self {
        let kicks = state
            .herd
            .neighbours(&state.name)
            .into_iter()
            .map(|n| (n.name.clone(), Notify::new()))
            .collect();
        Self {
            state: state.clone(),
            clock: env.clock.clone(),
            places: env.places.clone(),
            observer: env.observer.clone(),
            tuning: state.herd.tuning.clone(),
            bugs: env.bugs,
            secret: env.secret.clone(),
            link_port,
            conns: Arc::default(),
            rng: Arc::new(Mutex::new(ChaCha12Rng::seed_from_u64(mix_seed(
                env.seed,
                &state.name,
                "",
            )))),
            seed: env.seed,
            kicks: Arc::new(kicks),
        }
    }

    pub fn apply(
        &self,
        update: Arc<Update>,
        source: Source<'_>,
        seen: &[String],
        done: Option<Done>,
    ) -> bool {
        self.state.apply(update, source, seen, done, self.bugs)
    }

    pub fn report(&self, event: Event<'_>) {
        observe::report(&*self.observer, event);
    }

    /// A number for a new connection, unique within this server's run.
    pub fn next_conn(&self) -> ConnId {
        self.conns.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn nonce(&self) -> String {
        handshake::nonce(&mut *self.rng.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A generator for one link's jitter and nonces, so each link's
    /// sequence differs but all follow from the server's seed.
    pub fn link_rng(&self, neighbour: &str) -> ChaCha12Rng {
        ChaCha12Rng::seed_from_u64(mix_seed(self.seed, &self.state.name, neighbour))
    }

    /// Wakes our link to `neighbour` if it is waiting out a backoff. No
    /// permit is stored: a hello that comes while the link is up must not
    /// cut a later backoff short.
    pub fn kick(&self, neighbour: &str) {
        if let Some(kick) = self.kicks.get(neighbour) {
            kick.notify_waiters();
        }
    }

    pub async fn kicked(&self, neighbour: &str) {
        match self.kicks.get(neighbour) {
            Some(kick) => kick.notified().await,
            None => std::future::pending().await,
        }
    }

    /// How long a link may stay silent before it is declared dead.
    pub fn dead_after(&self) -> Duration {
        if crate::bug!(self.bugs, NoDeadLinkDetection) {
            // A year: never, in any run, without overflowing an Instant.
            Duration::from_secs(365 * 24 * 3600)
        } else {
            ms(self.tuning.dead_after_ms)
        }
    }

    /// How long a link or feed may stay quiet before it sends a ping. A
    /// task with none would ping without pause; like `tokio::time::interval`
    /// it panics instead (the load check refuses 0).
    pub fn heartbeat(&self) -> Duration {
        assert!(self.tuning.heartbeat_ms > 0, "heartbeat_ms must be non-zero");
        ms(self.tuning.heartbeat_ms)
    }

    /// Whether a neighbour wants no acknowledgements of us (`ack = "local"`).
    pub fn acks_local(&self) -> bool {
        self.tuning.ack == crate::config::AckMode::Local
    }
}

pub(super) fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

/// A seed per server and link, so each differs but all follow from one.
fn mix_seed(seed: u64, a: &str, b: &str) -> u64 {
    use std::hash::Hasher;
    // FNV-1a: stable across Rust releases, unlike std's hasher.
    let mut h = fnv::FnvHasher::with_key(0xcbf2_9ce4_8422_2325 ^ seed);
    for part in [a.as_bytes(), &[0], b.as_bytes()] {
        h.write(part);
    }
    h.finish()
}
