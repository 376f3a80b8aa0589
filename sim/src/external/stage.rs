//! The real herd a scenario runs against, as the driver acts on it: its
//! processes, the proxies on its links, the Places stand-in, and the same
//! bookkeeping of faults the simulator keeps (`world::links::Links`), so
//! that the checks ask the same questions of both (which servers are up,
//! which reach each other).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use herd::config::HerdConfig;

use super::clock::RealClock;
use super::layout::Layout;
use super::places::StandIn;
use super::procs::Procs;
use super::proxy::Wires;
use super::recording::Recording;
use crate::observe::{Fault, Note};
use crate::world::links::Links;

/// How long a (re)started server may take to accept connections.
pub const START_PATIENCE: Duration = Duration::from_secs(15);

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
}

impl Stage {
    pub fn herd(&self) -> &HerdConfig {
        &self.layout.herd
    }

    pub fn now(&self) -> Duration {
        self.clock.elapsed()
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
