//! A whole herd in this process on loopback ports the OS picks, for
//! integration tests and benchmarks: start it, stop or restart one server,
//! look at any server's store.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::SystemClock;
use crate::config::HerdConfig;
use crate::net::TokioNet;
use crate::observe::{NullObserver, SharedObserver};
use crate::places::Places;
use crate::server::{self, ServerEnv, ServerError, ServerState};

/// The observer each server (by name) reports to.
pub type Observers = Arc<dyn Fn(&str) -> SharedObserver + Send + Sync>;

pub struct LocalHerd {
    pub herd: Arc<HerdConfig>,
    places: Arc<dyn Places>,
    observers: Observers,
    running: BTreeMap<String, Running>,
}

struct Running {
    state: Arc<ServerState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl LocalHerd {
    /// Starts every server of `template` on 127.0.0.1 with a fresh port
    /// each (the template's hosts and ports are replaced; links and tuning
    /// are kept).
    pub async fn start(template: &HerdConfig, places: Arc<dyn Places>) -> io::Result<Self> {
        let none: Observers = Arc::new(|_| Arc::new(NullObserver));
        Self::start_observed(template, places, none).await
    }

    /// `start`, with each server's events going to `observers(name)`.
    pub async fn start_observed(
        template: &HerdConfig,
        places: Arc<dyn Places>,
        observers: Observers,
    ) -> io::Result<Self> {
        let mut herd = template.clone();
        let mut listeners = Vec::new();
        for spec in &mut herd.servers {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            spec.host = "127.0.0.1".into();
            spec.port = listener.local_addr()?.port();
            listeners.push((spec.name.clone(), listener));
        }
        let mut local = Self {
            herd: Arc::new(herd),
            places,
            observers,
            running: BTreeMap::new(),
        };
        for (name, listener) in listeners {
            local.launch(&name, listener);
        }
        Ok(local)
    }

    fn launch(&mut self, name: &str, listener: TcpListener) {
        let state = ServerState::new(name, self.herd.clone());
        let (stop, mut stopped) = watch::channel(false);
        let mut env = ServerEnv::new(TokioNet, Arc::new(SystemClock), self.places.clone());
        env.observer = (self.observers)(name);
        env.seed = self.running.len() as u64;
        let shutdown = async move {
            let _ = stopped.wait_for(|&s| s).await;
        };
        let task = tokio::spawn(server::serve(state.clone(), env, listener, shutdown));
        self.running
            .insert(name.to_string(), Running { state, stop, task });
    }

    pub fn addr(&self, name: &str) -> SocketAddr {
        let spec = self
            .herd
            .server(name)
            .unwrap_or_else(|| panic!("no server {name}"));
        SocketAddr::new([127, 0, 0, 1].into(), spec.port)
    }

    /// The store of a running server.
    pub fn state(&self, name: &str) -> Arc<ServerState> {
        self.running[name].state.clone()
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.running.contains_key(name)
    }

    /// Stops one server the way Ctrl-C would, and waits until it is gone.
    pub async fn stop(&mut self, name: &str) -> Result<(), ServerError> {
        let Some(running) = self.running.remove(name) else {
            return Ok(());
        };
        let _ = running.stop.send(true);
        running.task.await.expect("server task panicked")
    }

    /// Starts a stopped server again on its old port, with an empty store.
    pub async fn restart(&mut self, name: &str) -> io::Result<()> {
        self.stop(name).await.map_err(io::Error::other)?;
        let listener = TcpListener::bind(self.addr(name)).await?;
        self.launch(name, listener);
        Ok(())
    }

    /// Stops every server.
    pub async fn shutdown(mut self) {
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            let _ = self.stop(&name).await;
        }
    }
}
