//! The world a seed draws (swarm testing): a herd of 3 to 12 servers in
//! one of several shapes, or the default herd; its tuning, each setting
//! within the range the server's own load check accepts (with a catalogue
//! bug, the range as it was), its edges included; a herd secret or none;
//! a config rollout (some servers with other limits); and perturbed links.
//! Settings that depend on each other are drawn so that a correct server
//! can meet them (a link must be able to finish its handshake and hear a
//! heartbeat within its deadlines at the worst latency drawn).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use herd::bugs::{Bug, Bugs};
use herd::config::{AckMode, HerdConfig};
use toml::{Table, Value};

use super::super::dice::{Dice, Stream};
use crate::world::herd_config::sim_herd;
use crate::world::setup::{with_tuning, Perturb, WorldSetup};

/// Server names, short and long, from the herds of several years.
const NAMES: [&str; 12] = [
    "Goloman",
    "Hands",
    "Holiday",
    "Welsh",
    "Wilkes",
    "Hill",
    "Jaquez",
    "Smith",
    "Singleton",
    "Campbell",
    "Riley",
    "Bailey",
];

/// The bytes of one update on a link, for sizing dumps.
pub const UPDATE_BYTES: u64 = 100;

pub struct Swarm {
    /// The herd as it runs: topology, the simulator's timings, the draws.
    pub herd: HerdConfig,
    /// The topology to write as `[herd]`; `None` for the default herd.
    pub herd_table: Option<Table>,
    pub world: WorldSetup,
    pub shape: &'static str,
    /// Hops across the herd at most.
    pub diameter: u64,
    /// The network's latency range, and the most a `latency` step may set.
    pub latency_ms: [u64; 2],
    pub fault_latency_ms: u64,
    /// The lowest `max_line_bytes` of any server (a rollout lowers some).
    pub low_line_bytes: Option<u64>,
    /// What was drawn, for the parameters line.
    pub summary: String,
}

impl Swarm {
    /// Bytes per ms a link carries at least, when perturbed.
    pub fn throughput(&self) -> Option<u64> {
        let p = &self.world.perturb;
        let read = (p.read_pause_ms > 0).then(|| p.read_max_bytes / p.read_pause_ms);
        [Some(p.bandwidth_bytes_per_ms).filter(|b| *b > 0), read]
            .into_iter()
            .flatten()
            .min()
    }
}

/// Draws the world of `seed`; `fixed` keeps a given herd (topology and
/// tuning) and draws only the rest.
pub fn draw(seed: u64, fixed: Option<&(HerdConfig, Option<Table>)>, bug: Option<Bug>) -> Swarm {
    let mut dice = Dice::new(seed, Stream::World);
    let (herd, herd_table, shape) = match fixed {
        Some((herd, table)) => (herd.clone(), table.clone(), "given"),
        None => topology(&mut dice),
    };
    let latency_ms = [
        1,
        if dice.chance(50) {
            dice.range(1, 5)
        } else {
            dice.range(6, 20)
        },
    ];
    let fault_latency_ms = dice.range(20, 400);
    let mut s = Swarm {
        diameter: diameter(&herd),
        herd,
        herd_table,
        world: WorldSetup::default(),
        shape,
        latency_ms,
        fault_latency_ms,
        low_line_bytes: None,
        summary: String::new(),
    };
    if fixed.is_none() {
        s.world.tuning = tuning(&mut dice, &s, Bugs::with(bug));
        s.herd.tuning = with_tuning(&s.herd.tuning, &s.world.tuning).expect("drawn tuning reads back");
    }
    if dice.chance(50) {
        s.world.secret = Some(format!("swarm-secret-{seed}"));
    }
    perturb(&mut dice, &mut s);
    if dice.chance(10) && s.herd.servers.len() > 2 {
        rollout(&mut dice, &mut s);
    }
    s.summary = summary(&s);
    s
}

fn topology(dice: &mut Dice) -> (HerdConfig, Option<Table>, &'static str) {
    if dice.chance(20) {
        return (sim_herd(None, None).expect("the default herd"), None, "default");
    }
    let n = dice.size(3, 12);
    let shape = *dice.pick(&["line", "star", "ring", "ring", "tree", "tree", "mesh", "mesh"]);
    let mut links = BTreeSet::new();
    match shape {
        "line" => links.extend((1..n).map(|i| (i - 1, i))),
        "star" => links.extend((1..n).map(|i| (0, i))),
        "ring" => links.extend((0..n).map(|i| (i.min((i + 1) % n), i.max((i + 1) % n)))),
        _ => {
            links.extend((1..n).map(|i| (dice.size(0, i - 1), i)));
            if shape == "mesh" {
                for _ in 0..dice.size(1, n) {
                    let (a, b) = (dice.size(0, n - 1), dice.size(0, n - 1));
                    if a != b {
                        links.insert((a.min(b), a.max(b)));
                    }
                }
            }
        }
    }
    let mut table = Table::new();
    let servers: Vec<Value> = (0..n)
        .map(|i| {
            let mut s = Table::new();
            s.insert("name".into(), NAMES[i].into());
            s.insert("port".into(), Value::Integer(12_000 + i as i64));
            Value::Table(s)
        })
        .collect();
    let links: Vec<Value> = links
        .into_iter()
        .map(|(a, b)| Value::Array(vec![NAMES[a].into(), NAMES[b].into()]))
        .collect();
    table.insert("links".into(), Value::Array(links));
    table.insert("server".into(), Value::Array(servers));
    let herd = sim_herd(Some(table.clone()), None).expect("a drawn herd checks");
    (herd, Some(table), shape)
}

/// The most hops between two servers (the herd is connected).
fn diameter(herd: &HerdConfig) -> u64 {
    let mut most = 0;
    for start in &herd.servers {
        let mut hops = BTreeMap::from([(start.name.as_str(), 0u64)]);
        let mut queue = VecDeque::from([start.name.as_str()]);
        while let Some(at) = queue.pop_front() {
            let next = hops[at] + 1;
            for n in herd.neighbours(at) {
                if !hops.contains_key(n.name.as_str()) {
                    hops.insert(&n.name, next);
                    queue.push_back(&n.name);
                }
            }
        }
        most = most.max(hops.values().copied().max().unwrap_or(0));
    }
    most
}

fn tuning(dice: &mut Dice, s: &Swarm, bugs: Bugs) -> Table {
    let bounds =
        |field: &str| HerdConfig::tuning_bounds(&format!("tuning.{field}"), bugs).expect("a setting");
    let latency = s.latency_ms[1].max(s.fault_latency_ms);
    let mut t = Table::new();
    let set = |t: &mut Table, key: &str, value: u64| {
        t.insert(key.into(), Value::Integer(value.min(i64::MAX as u64) as i64));
        value
    };
    let heartbeat = match dice.chance(10) {
        true => bounds("heartbeat_ms").0,
        false => dice.log_range(20, 400),
    };
    set(&mut t, "heartbeat_ms", heartbeat);
    let need = 2 * heartbeat + 2 * latency + 100;
    set(&mut t, "dead_after_ms", dice.range(need, need * 3));
    let backoff_min = match dice.chance(25) {
        true => bounds("backoff_min_ms").0,
        false => dice.log_range(10, 300),
    };
    set(&mut t, "backoff_min_ms", backoff_min);
    set(&mut t, "backoff_max_ms", dice.range(backoff_min.max(300), 3_000));
    let idle = match dice.chance(10) {
        true => bounds("idle_timeout_ms").1,
        false => dice.log_range(5_000, 120_000),
    };
    set(&mut t, "idle_timeout_ms", idle);
    set(&mut t, "line_timeout_ms", dice.log_range(2_000, 60_000));
    let line = match dice.chance(20) {
        true => dice.log_range(512, bounds("max_line_bytes").1),
        false => 4_096,
    };
    set(&mut t, "max_line_bytes", line);
    let queue = match dice.chance(25) {
        true => dice.range(1, 8),
        false => dice.log_range(64, 4_096),
    };
    set(&mut t, "link_queue", queue);
    set(&mut t, "places_timeout_ms", dice.range(500, 5_000));
    let pruned = dice.chance(40);
    t.insert(
        "flooding".into(),
        (if pruned { "pruned" } else { "plain" }).into(),
    );
    let herd_acks = dice.chance(70);
    t.insert("ack".into(), (if herd_acks { "herd" } else { "local" }).into());
    set(&mut t, "ack_timeout_ms", dice.log_range(50, 1_000));
    let id = match dice.chance(20) {
        true => dice.log_range(16, 4_096).min(line.saturating_sub(100).max(16)),
        false => 256,
    };
    set(&mut t, "max_client_id_bytes", id);
    let future = match dice.below(10) {
        0..=5 => 86_400_000,
        6 | 7 => 0,
        _ => dice.range(1_000, 60_000),
    };
    set(&mut t, "max_future_ms", future);
    let handshake = 4 * latency + 100;
    set(
        &mut t,
        "handshake_timeout_ms",
        dice.range(handshake, handshake + 2_000),
    );
    let chunk = match dice.chance(30) {
        true => dice.range(1, 8),
        false => dice.log_range(64, bounds("catch_up_chunk").1),
    };
    set(&mut t, "catch_up_chunk", chunk);
    // Every request may be waiting on acknowledgements at once: room for
    // the traffic, a read per server after an ack, a bulk load, discovery.
    let needed = 48 + 2 * s.herd.servers.len() as u64;
    let connections = match dice.chance(25) {
        true => needed,
        false => dice.range(needed, 1_024),
    };
    set(&mut t, "max_connections", connections);
    t
}

fn perturb(dice: &mut Dice, s: &mut Swarm) {
    let mut p = Perturb::default();
    if dice.chance(25) {
        p.bandwidth_bytes_per_ms = dice.log_range(50, 2_000);
    }
    if dice.chance(20) {
        p.write_max_bytes = dice.log_range(64, 4_096);
    }
    if dice.chance(20) {
        p.read_max_bytes = dice.log_range(512, 8_192);
        p.read_pause_ms = dice.range(1, 5);
    }
    s.world.perturb = p;
    // A correct server writes one dump chunk well within `dead_after_ms`
    // even on the slowest link drawn: size chunks to the link.
    if let Some(rate) = s.throughput() {
        let most = (s.herd.tuning.dead_after_ms / 4 * rate / UPDATE_BYTES).max(1) as usize;
        if s.herd.tuning.catch_up_chunk > most {
            s.herd.tuning.catch_up_chunk = most;
            s.world
                .tuning
                .insert("catch_up_chunk".into(), Value::Integer(most as i64));
        }
    }
}

/// Some servers run with a smaller line limit than the rest, which accept
/// client IDs long enough that their updates do not fit it.
fn rollout(dice: &mut Dice, s: &mut Swarm) {
    let names: Vec<String> = s.herd.servers.iter().map(|s| s.name.clone()).collect();
    let low_line = dice.range(256, 1_024);
    let lows = dice.size(1, names.len() / 2);
    for (i, name) in names.iter().enumerate() {
        let mut t = Table::new();
        let (line, id) = if i < lows { (low_line, 256) } else { (8_192, 4_096) };
        t.insert("max_line_bytes".into(), Value::Integer(line as i64));
        t.insert("max_client_id_bytes".into(), Value::Integer(id));
        s.world.tuning_of.insert(name.clone(), t);
    }
    s.low_line_bytes = Some(low_line);
}

fn summary(s: &Swarm) -> String {
    let t = &s.herd.tuning;
    let mut out = format!(
        "{} servers ({}, {} links, diameter {}), latency {}..{} ms (faults to {} ms); tuning: heartbeat {} \
         dead_after {} backoff {}..{} idle {} line {} B, queue {}, chunk {}, conns {}, {:?} flooding, \
         ack {:?} (timeout {}), id {} B, future {} ms, handshake {}",
        s.herd.servers.len(),
        s.shape,
        s.herd.links.len(),
        s.diameter,
        s.latency_ms[0],
        s.latency_ms[1],
        s.fault_latency_ms,
        t.heartbeat_ms,
        t.dead_after_ms,
        t.backoff_min_ms,
        t.backoff_max_ms,
        t.idle_timeout_ms,
        t.max_line_bytes,
        t.link_queue,
        t.catch_up_chunk,
        t.max_connections,
        t.flooding,
        t.ack,
        t.ack_timeout_ms,
        t.max_client_id_bytes,
        t.max_future_ms,
        t.handshake_timeout_ms,
    );
    let _ = write!(
        out,
        "; secret {}",
        if s.world.secret.is_some() { "yes" } else { "no" }
    );
    let p = &s.world.perturb;
    if !p.is_calm() {
        let _ = write!(
            out,
            "; links: {} B/ms, writes of {} B, reads of {} B every {} ms",
            p.bandwidth_bytes_per_ms, p.write_max_bytes, p.read_max_bytes, p.read_pause_ms
        );
    }
    if let Some(low) = s.low_line_bytes {
        let _ = write!(out, "; rollout: some servers at {low} B lines");
    }
    if s.herd.tuning.ack == AckMode::Local {
        out.push_str("; no reads after acks");
    }
    out
}
