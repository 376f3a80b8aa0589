//! The simulated world a scenario runs in: turmoil's network and clock
//! (`net`, `clock`), Google Places stood in for by wiremock (`places`,
//! `wiremock`), the herd with the simulator's timings (`herd_config`), and
//! what the driver has done to links and servers (`links`). `World` puts
//! them together: it starts the servers as turmoil hosts, applies faults,
//! and steps time. Nothing here judges anything.
//!
//! Determinism: one seed drives turmoil (latencies, losses, each host's
//! tokio scheduler) and the servers' jitter; the clock starts at a fixed
//! epoch; and a crashed server's sockets close in a fixed order (`net`).

pub mod clock;
pub mod herd_config;
pub mod links;
pub mod net;
pub mod places;
pub mod setup;
pub mod shaping;
pub mod squat;
pub mod wiremock;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use herd::bugs::{Bug, Bugs};
use herd::clock::SharedClock;
use herd::config::HerdConfig;
use herd::observe::SharedObserver;
use herd::server::{Secret, ServerEnv, ServerState};
use serde::{Deserialize, Serialize};

use self::clock::{epoch, SimClock};
use self::links::Links;
use self::net::{SimNet, Sockets, Teardown};
use self::places::{Behaviour, PlacesSwitch};
use self::setup::WorldSetup;
use self::wiremock::WiremockPlaces;
use crate::observe::Log;

/// The network every message crosses unless a step changes a link.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Each message takes between these many milliseconds, inclusive.
    #[serde(default = "default_latency")]
    pub latency_ms: [u64; 2],
    /// Chance that any one message is lost (a lost TCP segment wedges its
    /// stream for good, as in turmoil; the servers' heartbeats notice).
    #[serde(default)]
    pub loss: f64,
}

fn default_latency() -> [u64; 2] {
    [1, 5]
}

impl Default for Network {
    fn default() -> Self {
        Self {
            latency_ms: default_latency(),
            loss: 0.0,
        }
    }
}

/// Makes the observer of a server incarnation: (server name, incarnation,
/// counted from 1).
pub type ObserverFor<'a> = Box<dyn Fn(&str, u32) -> SharedObserver + 'a>;

/// What each server is started with besides the herd.
pub struct ServerSetup<'a> {
    pub seed: u64,
    pub bug: Option<Bug>,
    pub observer: ObserverFor<'a>,
    /// The secret, per-server tuning and link perturbations.
    pub world: WorldSetup,
    /// Where a squatter notes the links it takes.
    pub log: Log,
}

/// Simulated time moves in ticks of this length.
pub const TICK: Duration = Duration::from_millis(1);

pub struct World<'a> {
    sim: turmoil::Sim<'a>,
    herd: Arc<HerdConfig>,
    places: WiremockPlaces,
    sockets: BTreeMap<String, Arc<Sockets>>,
    /// Servers whose host runs a squatter instead while they are down.
    squatting: BTreeMap<String, Arc<AtomicBool>>,
    secret: Option<String>,
    links: Links,
    /// Paused servers, and the hosts their traffic with is held.
    paused: BTreeMap<String, Vec<String>>,
    /// Every host but the servers: client hosts.
    clients: Vec<String>,
}

type Software = Pin<Box<dyn Future<Output = turmoil::Result>>>;

impl<'a> World<'a> {
    pub fn new(herd: Arc<HerdConfig>, network: &Network, seed: u64) -> Self {
        let sim = turmoil::Builder::new()
            .epoch(epoch())
            .rng_seed(seed)
            .tick_duration(TICK)
            .simulation_duration(Duration::from_secs(365 * 24 * 3600))
            .min_message_latency(Duration::from_millis(network.latency_ms[0]))
            .max_message_latency(Duration::from_millis(network.latency_ms[1]))
            .fail_rate(network.loss)
            // Catch-up dumps of many clients arrive as many segments at once.
            .tcp_capacity(1 << 16)
            .build();
        Self {
            sim,
            links: Links::new(&herd, network.latency_ms[1]),
            herd,
            places: WiremockPlaces::start(PlacesSwitch::default()),
            sockets: BTreeMap::new(),
            squatting: BTreeMap::new(),
            secret: None,
            paused: BTreeMap::new(),
            clients: Vec::new(),
        }
    }

    pub fn herd(&self) -> &HerdConfig {
        &self.herd
    }

    /// Starts every server of the herd as a turmoil host named after it.
    pub fn start_servers(&mut self, setup: ServerSetup<'a>) {
        self.secret.clone_from(&setup.world.secret);
        let setup = Rc::new(setup);
        let timeout = Duration::from_millis(self.herd.tuning.places_timeout_ms);
        let places = self.places.backend(timeout, setup.bug);
        for spec in &self.herd.servers {
            let name = spec.name.clone();
            let herd = Arc::new(setup.world.herd_of(&self.herd, &name));
            let places = places.clone();
            let setup = setup.clone();
            let sockets = Arc::new(Sockets::default());
            self.sockets.insert(name.clone(), sockets.clone());
            let squatting = Arc::new(AtomicBool::new(false));
            self.squatting.insert(name.clone(), squatting.clone());
            let (port, link_port) = (spec.port, spec.link_port);
            let incarnation = Cell::new(0);
            self.sim.host(spec.name.as_str(), move || -> Software {
                if squatting.load(Ordering::Relaxed) {
                    return Box::pin(squat::squat(name.clone(), port, link_port, setup.log.clone()));
                }
                incarnation.set(incarnation.get() + 1);
                // A (re)started server begins with an empty store.
                let state = ServerState::new(&name, herd.clone());
                let clock: SharedClock = Arc::new(SimClock);
                let net = SimNet::new(sockets.clone(), port, setup.world.perturb);
                let mut env = ServerEnv::new(net, clock, places.clone());
                env.observer = (setup.observer)(&name, incarnation.get());
                env.seed = setup.seed;
                env.bugs = Bugs::with(setup.bug);
                env.secret = setup.world.secret.as_deref().map(Secret::new);
                let teardown = Teardown(sockets.clone());
                Box::pin(async move {
                    let _teardown = teardown;
                    herd::server::run(state, env, std::future::pending())
                        .await
                        .map_err(|e| e.into())
                })
            });
        }
    }

    /// A client host that runs `future` (once: its end is the host's end).
    pub fn client(&mut self, host: &str, future: impl Future<Output = turmoil::Result> + 'static) {
        self.sim.client(host, future);
        self.clients.push(host.to_string());
        for (server, held) in &mut self.paused {
            self.sim.hold(server.as_str(), host);
            held.push(host.to_string());
        }
    }

    /// One tick of simulated time; an error when a host failed.
    pub fn step(&mut self) -> Result<(), String> {
        self.sim.step().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Simulated time since the run started.
    pub fn now(&self) -> Duration {
        self.sim.elapsed()
    }

    /// Simulated POSIX time, in nanoseconds.
    pub fn now_ns(&self) -> i128 {
        self.sim.since_epoch().as_nanos() as i128
    }

    pub fn port(&self, server: &str) -> u16 {
        self.herd.server(server).map_or(0, |s| s.port)
    }

    /// The herd secret the servers run with, if any.
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Cuts every pair of `a` and `b` (only `a` to `b` when `oneway`), or
    /// heals it when `cut` is false.
    pub fn cut(&mut self, a: &[String], b: &[String], oneway: bool, cut: bool) {
        let now = self.now();
        for (x, y) in pairs(a, b) {
            match (oneway, cut) {
                (true, true) => self.sim.partition_oneway(x, y),
                (true, false) => self.sim.repair_oneway(x, y),
                (false, true) => self.sim.partition(x, y),
                (false, false) => self.sim.repair(x, y),
            }
            self.links.cut(x, y, oneway, cut, now);
        }
    }

    /// Holds messages between `a` and `b` on the wire, or releases them.
    pub fn hold(&mut self, a: &[String], b: &[String], held: bool) {
        let now = self.now();
        for (x, y) in pairs(a, b) {
            if held {
                self.sim.hold(x, y);
            } else {
                self.sim.release(x, y);
            }
            self.links.hold(x, y, held, now);
        }
    }

    pub fn latency(&mut self, a: &[String], b: &[String], ms: u64) {
        let now = self.now();
        for (x, y) in pairs(a, b) {
            self.sim.set_link_latency(x, y, Duration::from_millis(ms));
            self.links.latency(x, y, ms, now);
        }
    }

    pub fn loss(&mut self, a: &[String], b: &[String], rate: f64) {
        let now = self.now();
        for (x, y) in pairs(a, b) {
            self.sim.set_link_fail_rate(x, y, rate);
            self.links.loss(x, y, rate, now);
        }
    }

    /// The server's process dies; its sockets close, in a fixed order.
    pub fn crash(&mut self, server: &str) {
        self.unpause(server);
        self.tear_down(server);
        self.sim.crash(server);
        self.links.down(server);
    }

    /// The machine vanishes: cut off, crashed, the network repaired, so
    /// the closes (and whatever it had sent that was still on the wire)
    /// are lost and its neighbours only notice the silence.
    pub fn silent_death(&mut self, server: &str) {
        let others: Vec<String> = self
            .herd
            .servers
            .iter()
            .filter(|s| s.name != server)
            .map(|s| s.name.clone())
            .collect();
        for other in &others {
            self.sim.partition(server, other.as_str());
        }
        self.crash(server);
        for other in &others {
            self.sim.repair(server, other.as_str());
        }
    }

    /// The server stops: everything it sends and everything sent to it
    /// waits on the wire (a process stopped by SIGSTOP sends nothing and
    /// reads nothing, while the kernel keeps its connections), and it is
    /// not up for the checks until `resume`. Its timers, unlike a stopped
    /// process's, run on; they find only silence.
    pub fn pause(&mut self, server: &str) {
        if self.paused.contains_key(server) {
            return;
        }
        let others: Vec<String> = (self.herd.servers.iter().map(|s| s.name.clone()))
            .chain(self.clients.iter().cloned())
            .filter(|h| h != server)
            .collect();
        for other in &others {
            self.sim.hold(server, other.as_str());
        }
        self.paused.insert(server.to_string(), others);
        self.links.down(server);
    }

    /// A paused server goes on with its store: what waited is delivered.
    pub fn resume(&mut self, server: &str) {
        if self.unpause(server) {
            self.links.started(server, self.now());
        }
    }

    /// Releases what a pause holds; false if the server was not paused.
    fn unpause(&mut self, server: &str) -> bool {
        let Some(held) = self.paused.remove(server) else {
            return false;
        };
        for other in &held {
            self.sim.release(server, other.as_str());
        }
        true
    }

    /// Starts the server again with an empty store (restarting it if it
    /// runs, ending a squatter's run on its host).
    pub fn restart(&mut self, server: &str) {
        self.unpause(server);
        // A squatter's sockets are its own: nothing of the server's to close.
        let squatted = self
            .squatting
            .get(server)
            .is_some_and(|f| f.swap(false, Ordering::Relaxed));
        if !squatted {
            self.tear_down(server);
        }
        self.sim.bounce(server);
        self.links.started(server, self.now());
    }

    /// A squatter takes the ports of `server`, which is down, until it is
    /// restarted. Whether it could (a running server keeps its ports).
    pub fn squat(&mut self, server: &str) -> bool {
        let Some(flag) = self.squatting.get(server).filter(|_| !self.links.is_up(server)) else {
            return false;
        };
        flag.store(true, Ordering::Relaxed);
        self.sim.bounce(server);
        true
    }

    /// Resets every connection between `a` and `b`: a spurious drop.
    pub fn reset(&mut self, a: &str, b: &str) {
        for (x, y) in [(a, b), (b, a)] {
            if let Some(sockets) = self.sockets.get(x) {
                sockets.reset(y);
            }
        }
        self.links.reset(a, b, self.now());
    }

    fn tear_down(&mut self, server: &str) {
        if self.sim.is_host_running(server) {
            if let Some(sockets) = self.sockets.get(server) {
                sockets.tear_down();
            }
        }
    }

    pub fn set_places(&self, behaviour: Behaviour) {
        self.places.set(behaviour);
    }

    /// The radius (metres, as Places got it) of every Places request made
    /// since the last call.
    pub fn take_places_radii(&self) -> Vec<String> {
        self.places.take_radii()
    }
}

fn pairs<'s>(a: &'s [String], b: &'s [String]) -> impl Iterator<Item = (&'s str, &'s str)> {
    a.iter()
        .flat_map(move |x| b.iter().map(move |y| (x.as_str(), y.as_str())))
}
