//! What every attack run shares: a fresh default herd of five processes
//! per binary, clients loaded into it, and the watch kept on the attacked
//! server while an attack runs: its memory, a probe client's latency, and
//! what the herd's logs say happened meanwhile.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herd::config::HerdConfig;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

use crate::clients::{self, held_by, Round};
use crate::log_lines::{self, Tally};
use crate::neighbour::{ask, connect, link_port, read_line, Protocol, READ_PATIENCE};
use crate::procs::{rss_bytes, HerdProcs, Setup};

/// The herd secret of the runs that use one.
pub const SECRET: &str = "attack bench secret";
/// Connections a bulk load spreads its clients over.
const LOAD_CONNECTIONS: usize = 16;
/// Between two probe rounds.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// One binary, run one way.
pub struct Variant {
    pub label: String,
    pub binary: PathBuf,
    pub secret: bool,
    /// The `[tuning]` table's body; empty for the defaults.
    pub tuning: String,
}

/// A running herd and the protocol its binary speaks.
pub struct Herd {
    pub procs: HerdProcs,
    pub protocol: Protocol,
    pub secret: bool,
    /// Floods are numbered (`ack = "herd"`): unnumbered lines are catch-up.
    numbered: bool,
}

impl Herd {
    pub async fn start(variant: &Variant) -> Herd {
        let procs = tokio::task::block_in_place(|| {
            let template = HerdConfig::default_herd();
            let setup = Setup::tuning(&variant.tuning)
                .secrets(&template, |_| variant.secret.then(|| SECRET.to_string()));
            let mut procs = HerdProcs::launch(&variant.binary, &template, &setup).expect("the herd starts");
            procs.wait_ready().expect("the herd links");
            procs
        });
        // A server that knows `HERD LINKPORT?` takes links on a port of its own.
        let protocol = match link_port(procs.port("Goloman")).await {
            Ok(_) => Protocol::LinkPort,
            Err(_) => Protocol::ClientPort,
        };
        let numbered = protocol == Protocol::LinkPort && !variant.tuning.contains("ack = \"local\"");
        Herd {
            procs,
            protocol,
            secret: variant.secret,
            numbered,
        }
    }

    pub fn port(&self, name: &str) -> u16 {
        self.procs.port(name)
    }

    pub fn kill(&mut self, name: &str) {
        tokio::task::block_in_place(|| self.procs.kill(name));
    }

    pub fn restart(&mut self, name: &str) {
        tokio::task::block_in_place(|| self.procs.restart(name)).expect("the server starts again");
    }
}

/// Sends `lines` at `port` over several connections, each waiting for its
/// reply before the next; how many were answered `AT` and how many not.
pub async fn load(port: u16, lines: Vec<String>) -> (usize, usize) {
    let share = lines.len().div_ceil(LOAD_CONNECTIONS).max(1);
    let tasks: Vec<JoinHandle<(usize, usize)>> = lines
        .chunks(share)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                let (mut stored, mut refused) = (0, 0);
                let mut c: Option<BufReader<tokio::net::TcpStream>> = None;
                for line in chunk {
                    if c.is_none() {
                        c = connect(port).await.ok().map(BufReader::new);
                    }
                    let answer = match c.as_mut() {
                        Some(c) => ask(c, &line).await,
                        None => Err(io::ErrorKind::NotConnected.into()),
                    };
                    match answer {
                        Ok(a) if a.starts_with("AT ") => stored += 1,
                        Ok(_) => refused += 1,
                        Err(_) => {
                            refused += 1;
                            c = None;
                        }
                    }
                }
                (stored, refused)
            })
        })
        .collect();
    let mut totals = (0, 0);
    for task in tasks {
        let (stored, refused) = task.await.expect("load task");
        totals = (totals.0 + stored, totals.1 + refused);
    }
    totals
}

/// How long until every one of `servers` holds `client`; `None` if not
/// within `cap`.
pub async fn held_by_all(herd: &Herd, servers: &[&str], client: &str, cap: Duration) -> Option<Duration> {
    let ports: Vec<u16> = servers.iter().map(|s| herd.port(s)).collect();
    held_by(&ports, client, cap).await
}

pub const EVERYONE: [&str; 5] = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"];

/// Waits until the herd has stopped logging for a moment (or `cap` has
/// passed): the work of one phase is over, or has settled into a steady
/// trickle such as heartbeats.
pub async fn quiet(dir: &Path, cap: Duration) {
    let start = Instant::now();
    let mut last = crate::log_lines::dir_bytes(dir);
    while start.elapsed() < cap {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = crate::log_lines::dir_bytes(dir);
        if now - last < 4096 {
            return;
        }
        last = now;
    }
}

/// What one run of one attack measured at the attacked server.
pub struct Figures {
    pub rss_before: u64,
    pub rss_peak: u64,
    pub rss_after: u64,
    pub iamat: Vec<Duration>,
    pub whatsat: Vec<Duration>,
    pub probes: usize,
    pub probes_failed: usize,
    /// What the logs say happened during the attack.
    pub logs: Tally,
    /// Client updates made during the attack, the probe's included.
    pub updates: u64,
    /// Catch-up entries, and flooded `HERD AT` lines, sent during the attack.
    pub catch_up: u64,
    pub flooded: u64,
    /// Figures of this attack's own, by name.
    pub extra: Vec<(String, String)>,
}

/// The watch on the attacked server, from before the attack until after it.
pub struct Watch {
    stop: Arc<AtomicBool>,
    probe: Option<JoinHandle<Vec<io::Result<Round>>>>,
    peak: JoinHandle<u64>,
    port: u16,
    before: Tally,
    rss_before: u64,
    pid: u32,
    logs: PathBuf,
}

impl Watch {
    /// Once the herd is quiet: counts the logs so far and starts sampling
    /// `attacked`'s memory (`probe` starts probing it).
    pub async fn start(herd: &Herd, attacked: &str) -> Watch {
        let logs = herd.procs.log_dir();
        quiet(&logs, Duration::from_secs(60)).await;
        let before = tokio::task::block_in_place(|| log_lines::tally(&logs));
        let pid = herd.procs.pid(attacked);
        let rss_before = rss_bytes(pid).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let sampling = stop.clone();
        let peak = tokio::spawn(async move {
            let mut peak = rss_before;
            while !sampling.load(Ordering::Relaxed) {
                peak = peak.max(rss_bytes(pid).unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        });
        Watch {
            stop,
            probe: None,
            peak,
            port: herd.port(attacked),
            before,
            rss_before,
            pid,
            logs,
        }
    }

    /// A client starts timing its requests at the attacked server, until
    /// the watch ends: once the attack is in place.
    pub fn probe(&mut self) {
        let (probing, port) = (self.stop.clone(), self.port);
        self.probe = Some(tokio::spawn(async move {
            let mut rounds = Vec::new();
            while !probing.load(Ordering::Relaxed) {
                rounds.push(clients::round(port, &format!("probe-{}", rounds.len())).await);
                tokio::time::sleep(PROBE_EVERY).await;
            }
            rounds
        }));
    }

    /// Ends the watch once the attack is over (its connections closed):
    /// `updates` client updates were made besides the probe's.
    pub async fn finish(self, herd: &Herd, updates: u64, extra: Vec<(String, String)>) -> Figures {
        self.stop.store(true, Ordering::Relaxed);
        let rounds = match self.probe {
            Some(probe) => probe.await.expect("probe task"),
            None => Vec::new(),
        };
        let rss_peak = self.peak.await.expect("sampling task");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss_after = rss_bytes(self.pid).unwrap_or(0);
        quiet(&self.logs, Duration::from_secs(30)).await;
        let logs = tokio::task::block_in_place(|| log_lines::tally(&self.logs)).since(&self.before);
        let answered: Vec<Round> = rounds.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
        Figures {
            rss_before: self.rss_before,
            rss_peak: rss_peak.max(rss_after),
            rss_after,
            iamat: answered.iter().map(|r| r.iamat).collect(),
            whatsat: answered.iter().map(|r| r.whatsat).collect(),
            probes: rounds.len(),
            probes_failed: rounds.len() - answered.len(),
            catch_up: logs.catch_up(herd.numbered),
            flooded: logs.flooded(herd.numbered),
            logs,
            updates: updates + answered.len() as u64,
            extra,
        }
    }
}

/// Reads `stream` for `window`; how many updates came (`HERD AT`, or
/// `HERD DUMP` where catch-up is sent so).
pub async fn at_lines_within(stream: tokio::net::TcpStream, window: Duration) -> u64 {
    let mut reader = BufReader::new(stream);
    let deadline = tokio::time::Instant::now() + window;
    let mut count = 0;
    let left = || deadline.saturating_duration_since(tokio::time::Instant::now());
    while let Ok(Some(line)) = read_line(&mut reader, left()).await {
        count += u64::from(line.starts_with("HERD AT ") || line.starts_with("HERD DUMP "));
    }
    count
}

/// Writes `line` to every one of `streams` every `every` until dropped.
pub async fn keep_saying(streams: &mut [tokio::net::TcpStream], line: &str, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        for s in streams.iter_mut() {
            let _ = tokio::time::timeout(READ_PATIENCE, s.write_all(line.as_bytes())).await;
        }
    }
}
