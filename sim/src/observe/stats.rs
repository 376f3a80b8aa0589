//! Propagation statistics of one run, from its records (see
//! docs/scenarios.md, "Statistics"): what flooding cost per client update,
//! how long an update took to reach every server, what reconciliation sent
//! after faults, and what heartbeats cost.

use std::collections::BTreeMap;
use std::time::Duration;

use herd::config::{Flooding, HerdConfig};
use herd::protocol::{PeerMessage, Update};
use serde::Serialize;

use super::flow::{Flow, Kind};
use super::record::{Fault, Note, Record, ServerEvent, Source, What};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub flooding: &'static str,
    /// Client updates (IAMATs) that changed their origin server's store.
    pub updates: u64,
    /// `HERD AT` lines sent outside catch-up dumps (lost ones included).
    pub update_messages: u64,
    /// `update_messages / updates`; `None` without updates.
    pub msgs_per_update: Option<f64>,
    /// The same, per origin server of the update (servers with updates).
    pub msgs_per_update_by_origin: BTreeMap<String, f64>,
    pub convergence: Convergence,
    pub reconciliation: Reconciliation,
    pub heartbeats: Heartbeats,
}

/// Propagation: from the moment an update's origin stored it to the
/// moment the last server running at the end of the run held it (or a
/// newer one for the same client). Whole milliseconds: simulated time
/// moves in 1 ms ticks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Convergence {
    /// Updates that reached every server running at the end.
    pub updates: u64,
    /// Updates some server running at the end never got.
    pub unconverged: u64,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub max_ms: Option<u64>,
    /// Every update in the order made, for the plot.
    #[serde(skip)]
    pub each: Vec<Propagation>,
}

/// One client update and how long it took to reach every server.
#[derive(Debug, Clone, PartialEq)]
pub struct Propagation {
    pub client: String,
    pub origin: String,
    /// When its origin stored it.
    pub made: Duration,
    /// `None`: some server running at the end never got it.
    pub took: Option<Duration>,
}

/// Catch-up dumps: what a publisher sends a (re)connecting subscriber.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    /// Dumps sent (one `HERD SYNCED` each).
    pub dumps: u64,
    /// `HERD AT` lines in them, and their bytes with line endings.
    pub lines: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heartbeats {
    /// `HERD PING` lines sent.
    pub pings: u64,
    pub links: u64,
    pub per_s: f64,
    pub per_link_per_s: f64,
}

/// The statistics of a run: its records, its flow (flow::build of the same
/// records), the herd it ran, and how long it ran.
pub fn compute(records: &[Record], flow: &Flow, herd: &HerdConfig, sim_ms: u64) -> Stats {
    let flooding = match herd.tuning.flooding {
        Flooding::Plain => "plain",
        Flooding::Pruned => "pruned",
    };
    let (created, convergence) = replay(records, herd);
    let mut update_messages = 0u64;
    let mut by_origin_msgs: BTreeMap<String, u64> = BTreeMap::new();
    let mut reconciliation = Reconciliation {
        dumps: 0,
        lines: 0,
        bytes: 0,
    };
    let mut pings = 0u64;
    // A herd with links whose lines nobody saw (a real herd that bypasses
    // the link proxies) has a flood cost nobody measured.
    let unseen = !herd.links.is_empty() && !flow.messages.iter().any(|m| m.wire.is_some());
    for m in flow.messages.iter().filter(|m| m.sent.is_some()) {
        match (m.kind, &m.wire) {
            (Kind::Update, Some(PeerMessage::Update { update, .. })) => {
                update_messages += 1;
                *by_origin_msgs.entry(update.origin.clone()).or_default() += 1;
            }
            (Kind::CatchUp, Some(PeerMessage::Dump { .. })) => {
                reconciliation.lines += 1;
                reconciliation.bytes += m.text.len() as u64 + 1;
            }
            (Kind::CatchUp, _) => reconciliation.dumps += 1,
            (Kind::Heartbeat, _) => pings += 1,
            _ => {}
        }
    }
    let updates: u64 = created.values().sum();
    let ratio = |msgs: u64, n: u64| (n > 0 && !unseen).then(|| round(msgs as f64 / n as f64, 3));
    let msgs_per_update_by_origin = created
        .iter()
        .filter_map(|(origin, &n)| {
            ratio(by_origin_msgs.get(origin).copied().unwrap_or(0), n).map(|r| (origin.clone(), r))
        })
        .collect();
    let seconds = sim_ms as f64 / 1000.0;
    let links = herd.links.len() as u64;
    let per_s = if seconds > 0.0 {
        pings as f64 / seconds
    } else {
        0.0
    };
    Stats {
        flooding,
        updates,
        update_messages,
        msgs_per_update: ratio(update_messages, updates),
        msgs_per_update_by_origin,
        convergence,
        reconciliation,
        heartbeats: Heartbeats {
            pings,
            links,
            per_s: round(per_s, 3),
            per_link_per_s: round(if links > 0 { per_s / links as f64 } else { 0.0 }, 3),
        },
    }
}

impl Stats {
    /// For the one-line summary: `msgs/update 8.0  propagation p99 12 ms`.
    pub fn summary(&self) -> String {
        let msgs = self
            .msgs_per_update
            .map_or("-".to_string(), |m| format!("{m:.1}"));
        let p99 = self
            .convergence
            .p99_ms
            .map_or(String::new(), |p| format!("  propagation p99 {p} ms"));
        format!("msgs/update {msgs}{p99}")
    }
}

fn round(x: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (x * k).round() / k
}

/// One update a client made, followed until every server holds it.
struct Tracked {
    update: Update,
    made: Duration,
    /// When each server first held it or newer.
    reached: BTreeMap<String, Duration>,
}

/// Follows every server's store through its store changes (emptied by
/// crashes and restarts) to see which client updates changed a store and
/// when each server first held them, or newer.
fn replay(records: &[Record], herd: &HerdConfig) -> (BTreeMap<String, u64>, Convergence) {
    let mut stores: BTreeMap<String, BTreeMap<String, Update>> = BTreeMap::new();
    let mut incarnations: BTreeMap<String, u32> = BTreeMap::new();
    let mut alive: BTreeMap<String, bool> = herd.servers.iter().map(|s| (s.name.clone(), true)).collect();
    let mut tracked: Vec<Tracked> = Vec::new();
    let mut by_client: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut created: BTreeMap<String, u64> = BTreeMap::new();
    // "Or newer" by the server's own order: this measures, it does not judge.
    let holds = |store: Option<&BTreeMap<String, Update>>, update: &Update| {
        store
            .and_then(|s| s.get(&update.client))
            .is_some_and(|held| held.precedence(update).is_ge())
    };

    for r in records {
        let (incarnation, event) = match &r.what {
            What::Driver(Note::Fault(Fault::Crash { server } | Fault::SilentDeath { server })) => {
                stores.remove(server);
                alive.insert(server.clone(), false);
                continue;
            }
            What::Driver(Note::Fault(Fault::Restart { server } | Fault::Resume { server })) => {
                alive.insert(server.clone(), true);
                continue;
            }
            What::Driver(Note::Fault(Fault::Pause { server })) => {
                alive.insert(server.clone(), false);
                continue;
            }
            What::Server { incarnation, event } => (*incarnation, event),
            _ => continue,
        };
        let server = r.host.to_string();
        if incarnations.insert(server.clone(), incarnation) != Some(incarnation) {
            stores.remove(&server);
        }
        let store = stores.entry(server.clone()).or_default();
        let (update, from_client) = match event {
            ServerEvent::Stored { update, source, .. } => (update, matches!(source, Source::Client(_))),
            ServerEvent::Evicted { update } => {
                store.remove(&update.client);
                continue;
            }
            _ => continue,
        };
        store.insert(update.client.clone(), update.clone());
        if from_client {
            *created.entry(server.clone()).or_default() += 1;
            let reached = stores
                .iter()
                .filter(|(_, store)| holds(Some(store), update))
                .map(|(name, _)| (name.clone(), r.at))
                .collect();
            by_client
                .entry(update.client.clone())
                .or_default()
                .push(tracked.len());
            tracked.push(Tracked {
                update: update.clone(),
                made: r.at,
                reached,
            });
            continue;
        }
        for &id in by_client.get(&update.client).into_iter().flatten() {
            let t = &mut tracked[id];
            if !t.reached.contains_key(&server) && holds(stores.get(&server), &t.update) {
                t.reached.insert(server.clone(), r.at);
            }
        }
    }

    let running: Vec<&String> = alive.iter().filter(|(_, &up)| up).map(|(s, _)| s).collect();
    let each: Vec<Propagation> = tracked
        .iter()
        .map(|t| {
            let last = running
                .iter()
                .map(|s| t.reached.get(*s))
                .collect::<Option<Vec<_>>>();
            let took = match last.and_then(|times| times.into_iter().max().copied()) {
                Some(at) => Some(at.saturating_sub(t.made)),
                None if running.is_empty() => Some(Duration::ZERO),
                None => None,
            };
            Propagation {
                client: t.update.client.clone(),
                origin: t.update.origin.clone(),
                made: t.made,
                took,
            }
        })
        .collect();
    let mut latencies: Vec<Duration> = each.iter().filter_map(|p| p.took).collect();
    latencies.sort();
    let pick = |q: f64| -> Option<u64> {
        if latencies.is_empty() {
            return None;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        Some(latencies[rank - 1].as_millis() as u64)
    };
    let convergence = Convergence {
        updates: latencies.len() as u64,
        unconverged: (each.len() - latencies.len()) as u64,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: latencies.last().map(|d| d.as_millis() as u64),
        each,
    };
    (created, convergence)
}

/// The statistics of a finished run on `herd`.
pub fn of_run(records: &[Record], herd: &HerdConfig, sim_ms: u64) -> Stats {
    let servers: Vec<String> = herd.servers.iter().map(|s| s.name.clone()).collect();
    let flow = super::flow::build(records, &servers);
    compute(records, &flow, herd, sim_ms)
}
