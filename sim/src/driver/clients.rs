//! Scenario clients. Each client label (and each `many_clients` prefix,
//! as `<prefix>NNNN`) is one turmoil client host that lives for the whole
//! run and takes work from the driver through a bounded channel: so a long
//! run has as many client hosts, and links, as a short one. Each job is a fresh
//! connection (`talk`); what the client sent and got is recorded by the
//! client host itself, stamped with simulated time, and left in a slot for
//! the driver to judge.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use turmoil::net::TcpStream;

use super::talk::{batch, talk, Transport};
pub(super) use super::talk::{Job, Slot};
use crate::observe::{sim_now, ClientEvent, Log, What};
use crate::oracle::Violation;
use crate::world::World;

/// Jobs one client host may have waiting before it picks them up.
const QUEUE: usize = 1024;

enum Work {
    Talk(Job, Slot),
    /// One IAMAT line after another over one connection, one reply line
    /// each: the lines of a `many_clients` step for one server.
    Batch(Job, Vec<(Vec<u8>, Slot)>),
    /// Anything else a client host may do (abusive clients, abuse.rs).
    Run(Pin<Box<dyn Future<Output = ()>>>),
}

pub(super) struct Clients {
    hosts: BTreeMap<String, mpsc::Sender<Work>>,
    log: Log,
}

impl Clients {
    pub fn new(log: Log) -> Self {
        Self {
            hosts: BTreeMap::new(),
            log,
        }
    }

    fn give(&mut self, world: &mut World, host: &str, work: Work) -> Result<(), Violation> {
        let log = &self.log;
        let queue = self.hosts.entry(host.to_string()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            world.client(host, client_host(host.into(), rx, log.clone()));
            tx
        });
        queue.try_send(work).map_err(|_| Violation::Overloaded {
            host: host.to_string(),
            queued: QUEUE,
        })
    }

    /// `host` makes one connection for `job`, and fills `slot`.
    pub fn talk(&mut self, world: &mut World, host: &str, job: Job, slot: Slot) -> Result<(), Violation> {
        self.give(world, host, Work::Talk(job, slot))
    }

    /// `host` runs `task` (made outside the simulation, run inside it).
    pub fn run(
        &mut self,
        world: &mut World,
        host: &str,
        task: impl Future<Output = ()> + 'static,
    ) -> Result<(), Violation> {
        self.give(world, host, Work::Run(Box::pin(task)))
    }

    /// `host` sends each line one after another over one connection for
    /// `job`, filling each line's slot.
    pub fn batch(
        &mut self,
        world: &mut World,
        host: &str,
        job: Job,
        lines: Vec<(Vec<u8>, Slot)>,
    ) -> Result<(), Violation> {
        self.give(world, host, Work::Batch(job, lines))
    }
}

/// A client host: runs each piece of work as a task of its own.
async fn client_host(host: Arc<str>, mut work: mpsc::Receiver<Work>, log: Log) -> turmoil::Result {
    let transport = SimTransport(log);
    while let Some(work) = work.recv().await {
        let (host, transport) = (host.clone(), transport.clone());
        match work {
            Work::Talk(job, slot) => tokio::task::spawn_local(talk(transport, host, job, slot)),
            Work::Batch(job, lines) => tokio::task::spawn_local(batch(transport, host, job, lines)),
            Work::Run(task) => tokio::task::spawn_local(task),
        };
    }
    Ok(())
}

/// Turmoil's network and simulated time, records in the run's log.
#[derive(Clone)]
pub(super) struct SimTransport(Log);

impl Transport for SimTransport {
    type Stream = TcpStream;

    async fn connect(&self, server: &str, port: u16) -> std::io::Result<(TcpStream, u16)> {
        let stream = TcpStream::connect((server, port)).await?;
        let local = stream.local_addr().map_or(0, |a| a.port());
        Ok((stream, local))
    }

    fn now_ns(&self) -> i128 {
        now_ns()
    }

    fn record(&self, host: &Arc<str>, event: ClientEvent) {
        self.0.push(sim_now(), host.clone(), What::Client(event));
    }
}

/// Simulated wall-clock time, in ns since the epoch.
pub(super) fn now_ns() -> i128 {
    turmoil::since_epoch().unwrap_or_default().as_nanos() as i128
}
