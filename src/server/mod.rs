//! The herd server: an accept loop with one task per connection, and one
//! link task per neighbour. Written against the `Net` seam, an injected
//! clock and Places back end, and an injected shutdown future, so the same
//! code runs on real TCP and inside the simulator.

mod client;
mod feed;
mod lines;
mod link;
mod state;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::instrument::WithSubscriber;

pub use lines::{Frame, LineReader};
pub use state::{Forward, ServerState, Subscription};

use crate::bugs::Bugs;
use crate::clock::SharedClock;
use crate::config::Tuning;
use crate::net::{Listener, Net};
use crate::observe::{self, ConnId, Event, NullObserver, Role, SharedObserver, Source};
use crate::places::Places;

/// What a server runs on: the network, the clock, Places, where its events
/// go, and a seed for the jitter of reconnect delays.
pub struct ServerEnv<N: Net> {
    pub net: N,
    pub clock: SharedClock,
    pub places: Arc<dyn Places>,
    pub observer: SharedObserver,
    pub seed: u64,
    /// `Bugs::default()` (none) everywhere but in the simulator's bug catalogue.
    pub bugs: Bugs,
}

impl<N: Net> ServerEnv<N> {
    /// An environment with seed 0, no bug, and events dropped; set the
    /// other fields as needed.
    pub fn new(net: N, clock: SharedClock, places: Arc<dyn Places>) -> Self {
        Self {
            net,
            clock,
            places,
            observer: Arc::new(NullObserver),
            seed: 0,
            bugs: Bugs::default(),
        }
    }
}

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("server {0:?} is not in the herd configuration")]
    UnknownServer(String),
    #[error("{server}: cannot listen on {host}:{port}: {source}")]
    Bind {
        server: String,
        host: String,
        port: u16,
        source: std::io::Error,
    },
}

/// What every connection task of one server shares.
#[derive(Clone)]
struct Ctx {
    state: Arc<ServerState>,
    clock: SharedClock,
    places: Arc<dyn Places>,
    observer: SharedObserver,
    tuning: Tuning,
    bugs: Bugs,
    conns: Arc<AtomicU64>,
}

impl Ctx {
    fn apply(&self, update: crate::protocol::Update, source: Source<'_>, seen: &[String]) -> bool {
        self.state.apply(update, source, seen, self.bugs)
    }

    fn report(&self, event: Event<'_>) {
        observe::report(&*self.observer, event);
    }

    /// A number for a new connection, unique within this server's run.
    fn next_conn(&self) -> ConnId {
        self.conns.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How long a link may stay silent before it is declared dead.
    fn dead_after(&self) -> Duration {
        if crate::bug!(self.bugs, NoDeadLinkDetection) {
            // A year: never, in any run, without overflowing an Instant.
            Duration::from_secs(365 * 24 * 3600)
        } else {
            Duration::from_millis(self.tuning.dead_after_ms)
        }
    }
}

/// Tells tasks to wind down; cheap to clone, one per task.
#[derive(Clone)]
struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    async fn wait(&mut self) {
        // An error means the sender is gone, which also means stop.
        let _ = self.0.wait_for(|&stop| stop).await;
    }

    fn is_set(&self) -> bool {
        *self.0.borrow()
    }
}

/// Runs the server named by `state` until `shutdown` resolves, then stops
/// accepting, lets each connection finish the reply it is working on, and
/// returns. Binding fails fast with `ServerError::Bind`.
pub async fn run<N: Net>(
    state: Arc<ServerState>,
    env: ServerEnv<N>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let name = state.name.clone();
    let spec = state
        .herd
        .server(&name)
        .ok_or_else(|| ServerError::UnknownServer(name.clone()))?;
    let listener = env
        .net
        .bind(&spec.host, spec.port)
        .await
        .map_err(|source| ServerError::Bind {
            server: name.clone(),
            host: spec.host.clone(),
            port: spec.port,
            source,
        })?;
    serve(state, env, listener, shutdown).await
}

/// `run` on a listener the caller bound already (tests bind port 0 first,
/// then write the ports they got into the herd config).
pub async fn serve<N: Net>(
    state: Arc<ServerState>,
    env: ServerEnv<N>,
    listener: N::Listener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let name = state.name.clone();
    if state.herd.server(&name).is_none() {
        return Err(ServerError::UnknownServer(name));
    }
    let local = listener
        .local_addr()
        .map_or_else(|_| name.clone(), |a| a.to_string());

    let tuning = state.herd.tuning.clone();
    state.observe(env.observer.clone());
    let ctx = Ctx {
        state: state.clone(),
        clock: env.clock,
        places: env.places,
        observer: env.observer,
        tuning: tuning.clone(),
        bugs: env.bugs,
        conns: Arc::default(),
    };
    ctx.report(Event::Listening {
        role: Role::Client,
        addr: &local,
    });
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    for neighbour in state.herd.neighbours(&name) {
        let seed = mix_seed(env.seed, &name, &neighbour.name);
        let task = link::maintain(
            env.net.clone(),
            neighbour.clone(),
            ctx.clone(),
            Shutdown(stop_rx.clone()),
            seed,
        );
        tasks.spawn(task.with_current_subscriber());
    }

    // Taking a permit before accepting bounds the connections served at
    // once. Client slots come first; when they are all taken, a few spare
    // slots (one per neighbour, plus one) still accept, but only for a
    // neighbour's link: so idle clients can never lock a neighbour out, and
    // a client past the limit is closed at once instead of left hanging.
    let clients = Arc::new(Semaphore::new(tuning.max_connections.max(1)));
    let spares = Arc::new(Semaphore::new(state.herd.neighbours(&name).len() + 1));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Ok(permit) = clients.clone().acquire_owned() => Slot::Client(permit),
            Ok(permit) = spares.clone().acquire_owned() => Slot::Spare(permit),
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        // A client slot may have freed while we waited on a spare one.
        let slot = match slot {
            Slot::Spare(spare) => clients
                .clone()
                .try_acquire_owned()
                .map_or(Slot::Spare(spare), Slot::Client),
            client => client,
        };
        match accepted {
            Ok((stream, addr)) => {
                let ctx = ctx.clone();
                let stop = Shutdown(stop_rx.clone());
                let neighbours_only = matches!(slot, Slot::Spare(_));
                tasks.spawn(
                    async move {
                        client::serve(stream, addr.to_string(), ctx, stop, neighbours_only).await;
                        drop(slot);
                    }
                    .with_current_subscriber(),
                );
            }
            // Out of file descriptors and the like: back off instead of
            // spinning, and keep serving the connections we have.
            Err(e) => {
                ctx.report(Event::Warning {
                    message: &format!("accept failed: {e}"),
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        while tasks.try_join_next().is_some() {}
    }

    ctx.report(Event::Shutdown);
    drop(listener);
    let _ = stop.send(true);
    // In-flight replies may wait on Places, which is itself bounded.
    let drain = Duration::from_millis(tuning.places_timeout_ms + 1_000);
    let _ = tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.shutdown().await;
    Ok(())
}

/// The permit a connection holds while it is served.
enum Slot {
    Client(#[allow(dead_code)] OwnedSemaphorePermit),
    Spare(#[allow(dead_code)] OwnedSemaphorePermit),
}

/// A per-link seed, so each link's jitter differs but all follow from one.
fn mix_seed(seed: u64, a: &str, b: &str) -> u64 {
    // FNV-1a: stable across Rust releases, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in a.bytes().chain([0]).chain(b.bytes()) {
        h = (h ^ byte as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
