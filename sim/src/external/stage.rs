//! The real herd a scenario runs against, as the driver acts on it: its
//! processes, the proxies on its links, the Places stand-in, and the same
//! bookkeeping of faults the simulator keeps (`world::links::Links`), so
//! that the checks ask the same questions of both (which servers are up,
//! which reach each other).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use herd::config::{HerdConfig, Tuning};

use super::clients::RealTransport;
use super::clock::RealClock;
use super::layout::Layout;
use super::places::StandIn;
use super::procs::Procs;
use super::proxy::Wires;
use super::recording::Recording;
use super::watch::Watcher;
use crate::driver::judge::Herd;
use crate::observe::{Fault, Note};
use crate::oracle::Entry;
use crate::world::links::Links;

/// How long a (re)started server may take to accept connections.
pub const START_PATIENCE: Duration = Duration::from_secs(15);

/// How far a server's receive time (skew + client time) may lie outside
/// the client's own start and end: the server reads the same clock, so
/// only its arithmetic can be off, and a coarse clock.
pub const SKEW_TOLERANCE_NS: i128 = 1_000_000;

pub struct Stage {
    pub layout: Layout,
    pub procs: Procs,
    pub wires: Rc<Wires>,
    pub places: StandIn,
    pub links: Links,
    pub recording: Rc<Recording>,
    pub clock: RealClock,
    /// Traffic reached the link proxies while the herd started: link
    /// faults can act on this herd.
    pub proxied: bool,
    pub watcher: Watcher,
    transport: RealTransport,
}

impl Herd for Stage {
    fn links(&self) -> &Links {
        &self.links
    }

    fn tuning(&self) -> &Tuning {
        &self.layout.herd.tuning
    }

    fn now(&self) -> Duration {
        self.clock.elapsed()
    }

    fn since_start(&self, posix_ns: i128) -> Duration {
        self.clock.since_start(posix_ns)
    }

    fn skew_window(&self) -> (i128, i128) {
        (1, SKEW_TOLERANCE_NS)
    }

    fn silent_death(&mut self, server: &str) {
        self.stop(Fault::SilentDeath {
            server: server.to_string(),
        });
    }

    fn places_answered(&self, from_ns: i128, to_ns: i128) -> bool {
        self.places.asked_between(from_ns, to_ns)
    }

    /// Polls every running server until it shows the update.
    fn told(&mut self, entry: &Entry) {
        let (servers, now) = (self.links.up_servers(), self.clock.elapsed());
        self.watcher.track(entry, &servers, now);
    }
}

impl Stage {
    /// `layout`'s herd with what runs it; nothing started yet.
    pub fn new(layout: Layout, procs: Procs, wires: Rc<Wires>, places: StandIn, latency_ms: u64) -> Self {
        let hosts = layout
            .herd
            .servers
            .iter()
            .map(|s| (s.name.clone(), s.host.clone()));
        let recording = wires.recording();
        Self {
            links: Links::new(&layout.herd, latency_ms),
            transport: RealTransport {
                hosts: Rc::new(hosts.collect()),
                recording: recording.clone(),
            },
            layout,
            procs,
            wires,
            places,
            recording,
            clock: RealClock::start(),
            proxied: false,
            watcher: Watcher::default(),
        }
    }

    pub fn herd(&self) -> &HerdConfig {
        &self.layout.herd
    }

    /// How scenario clients reach the servers.
    pub fn transport(&self) -> RealTransport {
        self.transport.clone()
    }

    /// `server`'s real client port.
    pub fn port(&self, server: &str) -> u16 {
        self.layout.herd.server(server).map_or(0, |s| s.port)
    }

    pub fn addr(&self, server: &str) -> SocketAddr {
        self.layout
            .addr(server)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The servers that are up, with their addresses, in herd order.
    pub fn up(&self) -> Vec<(String, SocketAddr)> {
        self.links
            .up_servers()
            .into_iter()
            .map(|s| {
                let addr = self.addr(&s);
                (s, addr)
            })
            .collect()
    }

    fn note(&self, fault: Fault) {
        self.recording.note(Note::Fault(fault));
    }

    /// A link fault, acted on by the proxies; false when the herd does not
    /// go through them (the caller reports the step as skipped).
    pub fn link_fault(&mut self, fault: Fault) -> bool {
        if !self.proxied {
            return false;
        }
        let now = self.now();
        let pairs = |a: &[String], b: &[String]| -> Vec<(String, String)> {
            a.iter()
                .flat_map(|x| b.iter().map(move |y| (x.clone(), y.clone())))
                .collect()
        };
        match &fault {
            Fault::Partition { a, b, oneway } | Fault::Heal { a, b, oneway } => {
                let cut = matches!(fault, Fault::Partition { .. });
                pairs(a, b)
                    .iter()
                    .for_each(|(x, y)| self.links.cut(x, y, *oneway, cut, now));
            }
            Fault::Hold { a, b } | Fault::Release { a, b } => {
                let held = matches!(fault, Fault::Hold { .. });
                pairs(a, b)
                    .iter()
                    .for_each(|(x, y)| self.links.hold(x, y, held, now));
            }
            Fault::Latency { a, b, ms } => pairs(a, b)
                .iter()
                .for_each(|(x, y)| self.links.latency(x, y, *ms, now)),
            Fault::Loss { a, b, rate } => pairs(a, b)
                .iter()
                .for_each(|(x, y)| self.links.loss(x, y, *rate, now)),
            _ => return false,
        }
        self.wires.apply(&fault);
        self.note(fault);
        true
    }

    /// SIGKILL: the kernel closes the server's sockets, so its neighbours
    /// see their links close.
    pub fn crash(&mut self, server: &str) {
        self.note(Fault::Crash {
            server: server.to_string(),
        });
        self.procs.kill(server);
        self.links.down(server);
    }

    /// SIGSTOP: the server stops answering, its connections stay open and
    /// silent, and its neighbours notice only the silence. A silent death
    /// ends with a restart, a pause (`fault`) with `resume`.
    pub fn stop(&mut self, fault: Fault) {
        let (Fault::SilentDeath { server } | Fault::Pause { server }) = &fault else {
            return;
        };
        self.procs.pause(server);
        self.links.down(server);
        self.note(fault);
    }

    /// SIGCONT: a paused server goes on where it stopped, with its store.
    pub fn resume(&mut self, server: &str) {
        self.note(Fault::Resume {
            server: server.to_string(),
        });
        self.procs.resume(server);
        self.links.started(server, self.now());
    }

    /// Kills what is left of the server and runs its command again, empty;
    /// returns once it accepts connections.
    pub async fn restart(&mut self, server: &str) -> Result<(), String> {
        self.note(Fault::Restart {
            server: server.to_string(),
        });
        self.procs.kill(server);
        self.recording.started(server);
        self.procs
            .spawn(server)
            .map_err(|e| format!("cannot run {server}'s command again: {e}"))?;
        self.wait_accepting(server).await?;
        self.links.started(server, self.now());
        Ok(())
    }

    /// Waits until `server` accepts connections; an error if its command
    /// exits first or it takes too long.
    pub async fn wait_accepting(&mut self, server: &str) -> Result<(), String> {
        let addr = self.addr(server);
        let deadline = tokio::time::Instant::now() + START_PATIENCE;
        loop {
            if let Some(status) = self.procs.exited(server) {
                return Err(format!(
                    "{server} exited ({status}) before it accepted connections on {addr}; its stderr: {}",
                    self.procs.stderr_tail(server)
                ));
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "{server} does not accept connections on {addr} after {START_PATIENCE:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A server whose command ended by itself, while it should run.
    pub fn died(&mut self) -> Option<String> {
        let up = self.links.up_servers();
        up.iter().find_map(|server| {
            let status = self.procs.exited(server)?;
            Some(format!(
                "{server} exited by itself ({status}); its stderr: {}",
                self.procs.stderr_tail(server)
            ))
        })
    }
}
