//! The herd server: a client listener with one task per connection, a link
//! listener where neighbours subscribe to our updates (feeds), and one link
//! task per neighbour subscribing to its. Written against the `Net` seam,
//! an injected clock, Places back end, observer and shutdown future, so the
//! same code runs on real TCP and inside the simulator.
//!
//! Two listeners keep "one server per port" (docs/protocol.md): a link we
//! open never has a neighbour's client port at its far end, so a port-based
//! kill of one server cannot reach its neighbours.

mod ack;
mod admission;
mod client;
mod codec;
mod conn;
mod ctx;
mod feed;
mod flood;
mod handshake;
mod link;
mod outbox;
mod state;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use codec::{Frame, LineCodec};
pub use conn::{Lines, Read};
pub use handshake::{Secret, SECRET_ENV};
pub use state::ServerState;

use crate::bugs::Bugs;
use crate::clock::SharedClock;
use crate::net::{Listener, Net};
use crate::observe::{Event, NullObserver, Role, SharedObserver};
use crate::places::Places;
use admission::Admission;
use ctx::Ctx;

/// What a server runs on: the network, the clock, Places, where its events
/// go, the herd secret, and a seed for nonces and reconnect jitter.
pub struct ServerEnv<N: Net> {
    pub net: N,
    pub clock: SharedClock,
    pub places: Arc<dyn Places>,
    pub observer: SharedObserver,
    /// Authenticates links (`HERD_SECRET`); `None` trusts configured
    /// addresses, as on a machine of one's own.
    pub secret: Option<Secret>,
    pub seed: u64,
    /// `Bugs::default()` (none) everywhere but in the simulator's bug catalogue.
    pub bugs: Bugs,
}

impl<N: Net> ServerEnv<N> {
    /// An environment with seed 0, no secret, no bug, and events dropped;
    /// set the other fields as needed.
    pub fn new(net: N, clock: SharedClock, places: Arc<dyn Places>) -> Self {
        Self {
            net,
            clock,
            places,
            observer: Arc::new(NullObserver),
            secret: None,
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
    #[error("{server}: a task panicked: {message}")]
    TaskPanicked { server: String, message: String },
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
    let spec = state
        .herd
        .server(&state.name)
        .ok_or_else(|| ServerError::UnknownServer(state.name.clone()))?
        .clone();
    let listener = bind(&env.net, &state.name, &spec.host, spec.port).await?;
    serve(state, env, listener, shutdown).await
}

async fn bind<N: Net>(net: &N, server: &str, host: &str, port: u16) -> Result<N::Listener, ServerError> {
    net.bind(host, port).await.map_err(|source| ServerError::Bind {
        server: server.to_string(),
        host: host.to_string(),
        port,
        source,
    })
}

/// `run` on a client listener the caller bound already (tests bind port 0
/// first, then write the ports they got into the herd config). The link
/// listener is bound here, on the configured `link_port` or a free one.
pub async fn serve<N: Net>(
    state: Arc<ServerState>,
    env: ServerEnv<N>,
    listener: N::Listener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let name = state.name.clone();
    let spec = state
        .herd
        .server(&name)
        .ok_or_else(|| ServerError::UnknownServer(name.clone()))?
        .clone();
    let links = bind(&env.net, &name, &spec.host, spec.link_port.unwrap_or(0)).await?;
    let link_port = links.local_addr().map_or(0, |a| a.port());
    let tuning = state.herd.tuning.clone();
    state.observe(env.observer.clone());
    let (stop, stop_rx) = watch::channel(false);
    let ctx = Ctx::new(&state, &env, link_port);
    for (role, l) in [
        (Role::Client, listener.local_addr()),
        (Role::Link, links.local_addr()),
    ] {
        let addr = l.map_or_else(|_| name.clone(), |a| a.to_string());
        ctx.report(Event::Listening { role, addr: &addr });
    }
    if env.secret.is_none() && !state.herd.neighbours(&name).is_empty() {
        ctx.report(Event::Warning {
            message: "HERD_SECRET is not set: links are not authenticated, and any process \
                      that can reach the link port and names a neighbour is trusted as one",
        });
    }

    let mut tasks = JoinSet::new();
    for neighbour in state.herd.neighbours(&name) {
        let task = link::maintain(
            env.net.clone(),
            neighbour.clone(),
            ctx.clone(),
            Shutdown(stop_rx.clone()),
        );
        tasks.spawn(task);
    }
    let clients = Admission::new(tuning.max_connections, env.bugs);
    // Handshakes in progress on the link port; authenticated feeds leave
    // this pool, and there is only ever one per neighbour.
    let handshakes = Admission::new(state.herd.neighbours(&name).len() + 2, env.bugs);
    tokio::pin!(shutdown);
    loop {
        let (stream, addr, role) = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => (stream, addr, Role::Client),
                Err(e) => { accept_failed(&ctx, &e).await; continue; }
            },
            accepted = links.accept() => match accepted {
                Ok((stream, addr)) => (stream, addr, Role::Link),
                Err(e) => { accept_failed(&ctx, &e).await; continue; }
            },
            Some(joined) = tasks.join_next() => match panic_of(joined) {
                // Serving on without the task (a link never rebuilt, say)
                // would hide the bug: stop, and say why.
                Some(message) => {
                    ctx.report(Event::Warning { message: &format!("a task panicked: {message}") });
                    return Err(ServerError::TaskPanicked { server: name, message });
                }
                None => continue,
            },
        };
        let conn = ctx.next_conn();
        let peer = addr.to_string();
        ctx.report(Event::Opened {
            conn,
            role,
            peer: &peer,
        });
        let pool = match role {
            Role::Client => &clients,
            Role::Link => &handshakes,
        };
        let Some(ticket) = pool.admit(conn) else {
            // Every slot is busy with a request: refuse by closing at once.
            ctx.report(Event::Closed {
                conn,
                why: "server full: every connection is busy",
            });
            continue;
        };
        let (ctx, stop) = (ctx.clone(), Shutdown(stop_rx.clone()));
        match role {
            Role::Client => tasks.spawn(client::serve(stream, conn, ctx, stop, ticket)),
            Role::Link => tasks.spawn(feed::serve(stream, conn, ctx, stop, ticket)),
        };
    }

    ctx.report(Event::Shutdown);
    drop((listener, links));
    let _ = stop.send(true);
    // In-flight replies may wait on Places, which is itself bounded.
    let drain = Duration::from_millis(tuning.places_timeout_ms + 1_000);
    let _ = tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.shutdown().await;
    Ok(())
}

/// The message of a task that panicked.
fn panic_of(joined: Result<(), tokio::task::JoinError>) -> Option<String> {
    let payload = joined.err().filter(|e| e.is_panic())?.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned());
    Some(text.unwrap_or_else(|| "no message".to_string()))
}

/// Out of file descriptors and the like: back off instead of spinning, and
/// keep serving the connections we have.
async fn accept_failed(ctx: &Ctx, e: &std::io::Error) {
    ctx.report(Event::Warning {
        message: &format!("accept failed: {e}"),
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
}
