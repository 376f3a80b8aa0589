//! What the driver has done to the herd's links and servers, kept so that
//! checks can ask which servers can reach each other: over links with no
//! fault in force (partition either way, hold, loss) between servers that
//! are up. A link or server that came back recently is not yet settled:
//! its connections are still being rebuilt.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::Duration;

use herd::config::{Flooding, HerdConfig, Tuning};

/// How long after a fault ends (or a server starts) its links are rebuilt
/// for sure: a dead link is noticed within `dead_after_ms`, and the next
/// try comes within `backoff_max_ms`.
pub fn settle(tuning: &Tuning) -> Duration {
    Duration::from_millis(tuning.dead_after_ms + tuning.backoff_max_ms)
}

/// The same after a fault that let messages through one way only, or lost
/// some: a handshake may have sent its request and lost the reply, and is
/// given up only after `handshake_timeout_ms`.
pub fn settle_swallowed(tuning: &Tuning) -> Duration {
    let stuck = tuning.dead_after_ms.max(tuning.handshake_timeout_ms);
    Duration::from_millis(stuck + tuning.backoff_max_ms)
}

#[derive(Debug, Clone, Default)]
struct Link {
    /// Messages from the first server of the pair to the second are dropped.
    cut_forward: bool,
    cut_backward: bool,
    held: bool,
    lossy: bool,
    /// Only while a reset is applied (it ends at once).
    reset: bool,
    /// A latency set by a `latency` step, instead of the network's.
    latency_ms: Option<u64>,
    /// When the last fault on it ended.
    healthy_since: Duration,
    /// That fault let messages through one way only, or lost some.
    swallowed: bool,
    /// The latency before the last step that lowered it, and when: what
    /// was sent before still takes that long.
    lowered: Option<(u64, Duration)>,
}

impl Link {
    fn healthy(&self) -> bool {
        !(self.cut_forward || self.cut_backward || self.held || self.lossy || self.reset)
    }
}

pub struct Links {
    /// The herd's links, each once, names in order.
    herd: Vec<(String, String)>,
    servers: Vec<String>,
    links: BTreeMap<(String, String), Link>,
    /// Servers up, with when they (re)started.
    up: BTreeMap<String, Duration>,
    /// The network's latency when no step set one.
    max_latency_ms: u64,
}

/// The pair in a fixed order, and whether `(a, b)` was reversed to get it.
fn key(a: &str, b: &str) -> ((String, String), bool) {
    if a <= b {
        ((a.to_string(), b.to_string()), false)
    } else {
        ((b.to_string(), a.to_string()), true)
    }
}

impl Links {
    pub fn new(herd: &HerdConfig, max_latency_ms: u64) -> Self {
        let servers: Vec<String> = herd.servers.iter().map(|s| s.name.clone()).collect();
        Self {
            herd: herd.links.iter().map(|(a, b)| key(a, b).0).collect(),
            up: servers.iter().map(|s| (s.clone(), Duration::ZERO)).collect(),
            servers,
            links: BTreeMap::new(),
            max_latency_ms,
        }
    }

    /// Changes the link between `a` and `b` and notes when it became healthy.
    fn change(&mut self, a: &str, b: &str, now: Duration, f: impl FnOnce(&mut Link, bool)) {
        if a == b {
            return;
        }
        let (key, reversed) = key(a, b);
        let link = self.links.entry(key).or_default();
        let was = link.healthy();
        f(link, reversed);
        if !was && link.healthy() {
            link.healthy_since = now;
        }
    }

    /// `oneway`: only messages from `a` to `b`.
    pub fn cut(&mut self, a: &str, b: &str, oneway: bool, cut: bool, now: Duration) {
        self.change(a, b, now, |l, reversed| {
            if cut {
                l.swallowed = oneway;
            }
            if !oneway || !reversed {
                l.cut_forward = cut;
            }
            if !oneway || reversed {
                l.cut_backward = cut;
            }
        });
    }

    pub fn hold(&mut self, a: &str, b: &str, held: bool, now: Duration) {
        self.change(a, b, now, |l, _| {
            l.held = held;
            l.swallowed &= !held;
        });
    }

    pub fn loss(&mut self, a: &str, b: &str, rate: f64, now: Duration) {
        self.change(a, b, now, |l, _| {
            l.lossy = rate > 0.0;
            l.swallowed |= l.lossy;
        });
    }

    /// Its connections were reset: healthy again from now, so not settled.
    pub fn reset(&mut self, a: &str, b: &str, now: Duration) {
        self.change(a, b, now, |l, _| l.reset = true);
        self.change(a, b, now, |l, _| l.reset = false);
    }

    /// A lower latency is not settled at once: what was sent before it
    /// still takes the old one, and the round trip an acknowledgement
    /// waited on was measured at that.
    pub fn latency(&mut self, a: &str, b: &str, ms: u64, now: Duration) {
        let max_latency_ms = self.max_latency_ms;
        self.change(a, b, now, |l, _| {
            let was = l.latency_ms.unwrap_or(max_latency_ms);
            if ms < was {
                l.healthy_since = now;
                l.lowered = Some((was, now));
            }
            l.latency_ms = Some(ms);
        });
    }

    pub fn down(&mut self, server: &str) {
        self.up.remove(server);
    }

    pub fn started(&mut self, server: &str, now: Duration) {
        self.up.insert(server.to_string(), now);
    }

    pub fn is_up(&self, server: &str) -> bool {
        self.up.contains_key(server)
    }

    /// When `server` last (re)started, if it is up.
    pub fn up_since(&self, server: &str) -> Option<Duration> {
        self.up.get(server).copied()
    }

    /// The servers that are up, in herd order.
    pub fn up_servers(&self) -> Vec<String> {
        self.servers.iter().filter(|s| self.is_up(s)).cloned().collect()
    }

    fn link(&self, a: &str, b: &str) -> Option<&Link> {
        self.links.get(&key(a, b).0)
    }

    /// The herd's links between servers that are up, with no fault in force.
    fn healthy(&self) -> impl Iterator<Item = &(String, String)> + '_ {
        self.herd
            .iter()
            .filter(|(a, b)| self.is_up(a) && self.is_up(b) && self.link(a, b).is_none_or(Link::healthy))
    }

    /// The servers that are up, grouped by who can reach whom over healthy
    /// links; each group in herd order, groups in order of their first server.
    pub fn groups(&self) -> Vec<Vec<String>> {
        let up = self.up_servers();
        let mut group_of: BTreeMap<&str, usize> =
            up.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        // Few servers: relabelling the larger label away is plenty fast.
        for (a, b) in self.healthy() {
            let (ga, gb) = (group_of[a.as_str()], group_of[b.as_str()]);
            if ga != gb {
                let (keep, drop) = (ga.min(gb), ga.max(gb));
                group_of
                    .values_mut()
                    .filter(|g| **g == drop)
                    .for_each(|g| *g = keep);
            }
        }
        let mut groups: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for server in &up {
            groups
                .entry(group_of[server.as_str()])
                .or_default()
                .push(server.clone());
        }
        groups.into_values().collect()
    }

    /// Whether `a` and `b` are linked in the herd, both up for at least
    /// `settle`, and their link healthy for at least that long.
    pub fn steady(&self, a: &str, b: &str, now: Duration, settle: Duration) -> bool {
        let settled = |s: &str| self.up.get(s).is_some_and(|&t| now.saturating_sub(t) >= settle);
        let linked = self.herd.contains(&key(a, b).0);
        let link = self.link(a, b);
        let healthy = link.is_none_or(|l| l.healthy() && now.saturating_sub(l.healthy_since) >= settle);
        linked && settled(a) && settled(b) && healthy
    }

    /// The largest latency a message may take now: the network's, or a
    /// `latency` step's.
    pub fn max_latency_ms(&self) -> u64 {
        let set = self.links.values().filter_map(|l| l.latency_ms);
        set.chain([self.max_latency_ms]).max().unwrap_or(0)
    }

    /// The servers an acknowledgement from `origin` must have waited
    /// for: those it reaches over links healthy for at least `settle`
    /// (`settle_swallowed` after a fault that may have swallowed a
    /// handshake's reply), between servers up for at least `settle`, along
    /// a path whose round trip fits in `ack_timeout_ms`. With plain
    /// flooding a path costs its own links' latency. Pruned flooding sends
    /// an update to each server over one link only (the first to mark it
    /// sent), which may be the slowest or one that died silently (it counts
    /// as sent for `1.5 × heartbeat_ms`): there every hop costs the largest
    /// latency of any link, counting one lowered within `settle`, and a
    /// server is reached only if every one of its links is settled.
    pub fn settled_reach(&self, origin: &str, now: Duration, tuning: &Tuning) -> BTreeSet<String> {
        let (settle, swallowed) = (settle(tuning), settle_swallowed(tuning));
        let settled = |s: &str| self.up.get(s).is_some_and(|&t| now.saturating_sub(t) >= settle);
        let mut reached = BTreeSet::new();
        if !settled(origin) {
            return reached;
        }
        let recent = |l: &Link| {
            let lowered = l.lowered.filter(|&(_, at)| now.saturating_sub(at) < settle);
            let current = l.latency_ms.unwrap_or(self.max_latency_ms);
            lowered.map_or(current, |(was, _)| was.max(current))
        };
        let worst = self
            .links
            .values()
            .map(recent)
            .fold(self.max_latency_ms, u64::max);
        let rebuilt = |l: &Link| {
            let wait = if l.swallowed { swallowed } else { settle };
            now.saturating_sub(l.healthy_since) >= wait
        };
        let pruned = tuning.flooding == Flooding::Pruned;
        let all_settled = |s: &str| {
            self.herd
                .iter()
                .filter(|(a, b)| (a == s || b == s) && self.is_up(a) && self.is_up(b))
                .all(|(a, b)| self.link(a, b).is_none_or(|l| l.healthy() && rebuilt(l)))
        };
        let mut best: BTreeMap<&str, u64> = BTreeMap::from([(origin, 0)]);
        let mut queue = BinaryHeap::from([Reverse((0u64, origin))]);
        while let Some(Reverse((cost, at))) = queue.pop() {
            if best.get(at).is_some_and(|&c| c < cost) {
                continue;
            }
            for (a, b) in self.healthy() {
                let next = match (a == at, b == at) {
                    (true, _) => b.as_str(),
                    (_, true) => a.as_str(),
                    _ => continue,
                };
                let link = self.link(a, b);
                if !settled(next) || link.is_some_and(|l| !rebuilt(l)) || (pruned && !all_settled(next)) {
                    continue;
                }
                let latency = match tuning.flooding {
                    Flooding::Plain => link.and_then(|l| l.latency_ms).unwrap_or(self.max_latency_ms),
                    Flooding::Pruned => worst,
                };
                let total = cost + 2 * latency;
                if total <= tuning.ack_timeout_ms && best.get(next).is_none_or(|&c| total < c) {
                    best.insert(next, total);
                    queue.push(Reverse((total, next)));
                }
            }
        }
        reached.extend(best.keys().filter(|s| **s != origin).map(|s| s.to_string()));
        reached
    }
}

#[cfg(test)]
mod tests;
