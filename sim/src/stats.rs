//! Propagation statistics of one run, from its records (see
//! docs/scenarios.md, "Statistics"): what flooding cost per client update,
//! how long an update took to reach every server, what reconciliation sent
//! after faults, and what heartbeats cost.

use std::collections::BTreeMap;
use std::time::Duration;

use herd::config::{Flooding, HerdConfig};
use herd::protocol::{PeerMessage, Update};
use herd::store::Store;
use serde::Serialize;

use crate::checks::parse_at;
use crate::flow::{Flow, Kind};
use crate::trace::Record;

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

/// From the AT reply to the moment the last server running at the end of
/// the run held the update (or a newer one for the same client).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Convergence {
    /// Updates that reached every server running at the end.
    pub updates: u64,
    /// Updates some server running at the end never got.
    pub unconverged: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
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
    for m in flow.messages.iter().filter(|m| m.sent.is_some()) {
        match m.kind {
            Kind::Update => {
                update_messages += 1;
                let origin = m.text.split_whitespace().nth(3).unwrap_or_default();
                *by_origin_msgs.entry(origin.to_string()).or_default() += 1;
            }
            Kind::CatchUp if m.text.starts_with("HERD AT ") => {
                reconciliation.lines += 1;
                reconciliation.bytes += m.text.len() as u64 + 1;
            }
            Kind::CatchUp => reconciliation.dumps += 1,
            Kind::Heartbeat => pings += 1,
            _ => {}
        }
    }
    let updates: u64 = created.values().sum();
    let ratio = |msgs: u64, n: u64| (n > 0).then(|| round(msgs as f64 / n as f64, 3));
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
    /// For the one-line summary: `msgs/update 8.0  p99 12 ms`.
    pub fn summary(&self) -> String {
        let msgs = self
            .msgs_per_update
            .map_or("-".to_string(), |m| format!("{m:.1}"));
        let p99 = self
            .convergence
            .p99_ms
            .map_or(String::new(), |p| format!("  p99 {p} ms"));
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

/// Replays every server's store from the records (client AT replies and
/// merged `HERD AT`s, emptied by crashes and restarts) to see which client
/// updates changed a store and when each server first held them.
fn replay(records: &[Record], herd: &HerdConfig) -> (BTreeMap<String, u64>, Convergence) {
    let servers: Vec<String> = herd.servers.iter().map(|s| s.name.clone()).collect();
    let is_server = |name: &str| servers.iter().any(|s| s == name);
    let mut stores: BTreeMap<String, Store> = servers.iter().map(|s| (s.clone(), Store::default())).collect();
    let mut alive: BTreeMap<String, bool> = servers.iter().map(|s| (s.clone(), true)).collect();
    let mut tracked: Vec<Tracked> = Vec::new();
    let mut by_client: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut created: BTreeMap<String, u64> = BTreeMap::new();

    for r in records {
        if r.who == "sim" {
            match r.kind.as_str() {
                "crash" | "silent_death" | "restart" => {
                    stores.insert(r.peer.clone(), Store::default());
                    alive.insert(r.peer.clone(), r.kind == "restart");
                }
                _ => {}
            }
            continue;
        }
        if !is_server(&r.who) {
            continue;
        }
        let (update, from_client) = match r.kind.as_str() {
            "send" if !is_server(&r.peer) => {
                let line = r.text.strip_suffix("\\n").unwrap_or(&r.text);
                if !line.starts_with("AT ") || line.contains("\\n") {
                    continue;
                }
                match parse_at(line) {
                    Some(u) => (u, true),
                    None => continue,
                }
            }
            "recv" if is_server(&r.peer) && r.text.starts_with("HERD AT ") => {
                match PeerMessage::parse(r.text.as_bytes()) {
                    Ok(PeerMessage::Update { update, .. }) => (update, false),
                    _ => continue,
                }
            }
            _ => continue,
        };
        let client = update.client.clone();
        let Some(store) = stores.get_mut(&r.who) else {
            continue;
        };
        let changed = store.merge(&update).changed();
        if from_client && changed {
            *created.entry(r.who.clone()).or_default() += 1;
            let mut reached = BTreeMap::new();
            for (name, store) in &stores {
                if store
                    .get(&client)
                    .is_some_and(|held| held.precedence(&update).is_ge())
                {
                    reached.insert(name.clone(), r.at);
                }
            }
            by_client.entry(client.clone()).or_default().push(tracked.len());
            tracked.push(Tracked {
                update,
                made: r.at,
                reached,
            });
            continue;
        }
        let held = stores[&r.who].get(&client);
        if let (Some(held), Some(ids)) = (held, by_client.get(&client)) {
            for &id in ids {
                let t = &mut tracked[id];
                if !t.reached.contains_key(&r.who) && held.precedence(&t.update).is_ge() {
                    t.reached.insert(r.who.clone(), r.at);
                }
            }
        }
    }

    let running: Vec<&String> = alive.iter().filter(|(_, &up)| up).map(|(s, _)| s).collect();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut unconverged = 0;
    for t in &tracked {
        let last = running
            .iter()
            .map(|s| t.reached.get(*s))
            .collect::<Option<Vec<_>>>();
        match last.and_then(|times| times.into_iter().max().copied()) {
            Some(at) => latencies.push(at.saturating_sub(t.made)),
            None if running.is_empty() => latencies.push(Duration::ZERO),
            None => unconverged += 1,
        }
    }
    latencies.sort();
    let pick = |q: f64| -> Option<f64> {
        if latencies.is_empty() {
            return None;
        }
        let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        Some(latencies[rank - 1].as_secs_f64() * 1000.0)
    };
    let convergence = Convergence {
        updates: latencies.len() as u64,
        unconverged,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: latencies.last().map(|d| d.as_secs_f64() * 1000.0),
    };
    (created, convergence)
}

/// The statistics of a finished run of `scenario`.
pub fn of_report(report: &crate::run::Report, scenario: &crate::scenario::Scenario) -> Stats {
    let servers: Vec<String> = scenario.herd.servers.iter().map(|s| s.name.clone()).collect();
    let flow = crate::flow::build(&report.records, &servers);
    compute(&report.records, &flow, &scenario.herd, report.sim_ms)
}

/// One run's entry of the `--json` file: the run, then its statistics.
pub fn json_entry(
    scenario: &crate::scenario::Scenario,
    seed: u64,
    report: &crate::run::Report,
    stats: &Stats,
) -> serde_json::Value {
    let mut entry = serde_json::json!({
        "scenario": scenario.name,
        "seed": seed,
        "pass": report.failure.is_none(),
        "sim_ms": report.sim_ms,
    });
    if let (Some(map), Ok(serde_json::Value::Object(more))) =
        (entry.as_object_mut(), serde_json::to_value(stats))
    {
        map.extend(more);
    }
    entry
}
