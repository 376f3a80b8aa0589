//! Fault episodes: partitions of every shape, holds, latency and loss on
//! a link, crashes and silent deaths (a few servers down at a time, each
//! staying up a while after its restart), Places faults (the key echoed
//! among them), and spurious resets of a link's connections. Each episode
//! lasts at least `MIN_STABLE_MS` and ends before the safety phase does.

use super::{Episode, Gen, MIN_STABLE_MS};
use crate::scenario::{Action, PlacesMode};

/// A restarted server stays up at least this long before it may crash again.
const UP_AFTER_RESTART_MS: u64 = 2_000;

/// Time ranges in which a server is down (crashed or silently dead).
#[derive(Default)]
pub(super) struct Downtime(Vec<(String, u64, u64)>);

impl Downtime {
    fn down_at(&self, t: u64) -> usize {
        self.0.iter().filter(|(_, a, b)| *a <= t && t < *b).count()
    }

    /// The most servers down at once during `[from, to)`.
    fn most_down(&self, from: u64, to: u64) -> usize {
        let starts = self
            .0
            .iter()
            .map(|(_, a, _)| *a)
            .filter(|a| (from..to).contains(a));
        starts.chain([from]).map(|t| self.down_at(t)).max().unwrap_or(0)
    }

    /// Whether `server` is up throughout `[from, to]`, with a margin
    /// after a restart for it to listen again.
    pub(super) fn up_during(&self, server: &str, from: u64, to: u64) -> bool {
        !self
            .0
            .iter()
            .any(|(s, a, b)| s == server && *a <= to && from < *b + 100)
    }

    fn may_crash(&self, server: &str, from: u64, to: u64) -> bool {
        !self
            .0
            .iter()
            .any(|(s, a, b)| s == server && *a <= to + UP_AFTER_RESTART_MS && from < *b + UP_AFTER_RESTART_MS)
    }
}

impl Gen<'_> {
    /// Overlapping fault episodes, each healed before `safety_ms`.
    pub(super) fn faults(&mut self, safety_ms: u64) -> Downtime {
        let mut downtime = Downtime::default();
        let max_down = (self.names.len().saturating_sub(1) / 2).max(1);
        let mut t = self.faults.range(100, 1_000);
        while t + MIN_STABLE_MS <= safety_ms && self.names.len() > 1 {
            let end = (t + self.faults.range(MIN_STABLE_MS, MIN_STABLE_MS * 3)).min(safety_ms);
            let kind = self.faults.below(12);
            if let Some(episode) = self.episode(kind, t, end, &mut downtime, max_down) {
                self.params.faults.push(format!("{} {t}..{end} ms", episode.name));
                self.episodes.push(episode);
            }
            t += self.faults.range(300, 2_000);
        }
        downtime
    }

    fn episode(
        &mut self,
        kind: u64,
        t: u64,
        end: u64,
        downtime: &mut Downtime,
        max_down: usize,
    ) -> Option<Episode> {
        let (at_ms, end_ms) = (t, end);
        let (start, stop, name, servers, silent) = match kind {
            0..=3 => {
                let (a, b, oneway, name) = match kind {
                    0 => {
                        let (a, b) = self.pair(true);
                        (vec![a], vec![b], false, "partition link")
                    }
                    1 => {
                        let s = self.server();
                        let rest = self.names.iter().filter(|n| **n != s).cloned().collect();
                        (vec![s], rest, false, "partition one server off")
                    }
                    2 => {
                        let (a, b) = self.split();
                        (a, b, false, "partition herd in two")
                    }
                    _ => {
                        let (a, b) = if self.faults.chance(50) {
                            let (a, b) = self.pair(true);
                            (vec![a], vec![b])
                        } else {
                            self.split()
                        };
                        (a, b, true, "one-way partition")
                    }
                };
                let heal = Action::Heal {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    oneway,
                };
                let touched = if kind == 0 || a.len() == 1 {
                    [&a[..], &b[..]].concat()
                } else {
                    Vec::new()
                };
                (
                    Action::Partition { at_ms, a, b, oneway },
                    heal,
                    name,
                    touched,
                    true,
                )
            }
            4 => {
                let (a, b) = self.pair(true);
                let (a, b) = (vec![a], vec![b]);
                let release = Action::Release {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                };
                let touched = [&a[..], &b[..]].concat();
                (Action::Hold { at_ms, a, b }, release, "hold", touched, true)
            }
            5 => {
                let (a, b) = self.pair(true);
                let ms = self.faults.range(20, self.swarm.fault_latency_ms);
                let back = self.faults.range(1, 5);
                let (a, b) = (vec![a], vec![b]);
                let reset = Action::Latency {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    ms: back,
                };
                self.slow.push((t, end, ms));
                (
                    Action::Latency { at_ms, a, b, ms },
                    reset,
                    "latency",
                    Vec::new(),
                    false,
                )
            }
            6 => {
                let (a, b) = self.pair(true);
                let rate = self.faults.range(1, 20) as f64 / 100.0;
                let (a, b) = (vec![a], vec![b]);
                let reset = Action::Loss {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    rate: 0.0,
                };
                (
                    Action::Loss { at_ms, a, b, rate },
                    reset,
                    "loss",
                    Vec::new(),
                    false,
                )
            }
            7 | 8 => {
                let server = self.server();
                if downtime.most_down(t, end) >= max_down || !downtime.may_crash(&server, t, end) {
                    return None;
                }
                downtime.0.push((server.clone(), t, end));
                let restart = Action::Restart {
                    at_ms: end_ms,
                    server: server.clone(),
                };
                let touched = vec![server.clone()];
                if kind == 7 {
                    (Action::Crash { at_ms, server }, restart, "crash", touched, false)
                } else {
                    (
                        Action::SilentDeath { at_ms, server },
                        restart,
                        "silent death",
                        touched,
                        true,
                    )
                }
            }
            9 | 10 => {
                let (fault, name) = self.places_fault(at_ms);
                let ok = Action::Places {
                    at_ms: end_ms,
                    mode: PlacesMode::Ok,
                    delay_ms: None,
                    status: None,
                    code: None,
                };
                (fault, ok, name, Vec::new(), false)
            }
            _ => {
                // Spurious drops: the connections of one link, reset a few times.
                let (a, b) = self.pair(true);
                let times = self.faults.range(1, 3);
                for i in 0..times {
                    let at_ms = t + i * (end - t) / times;
                    let (a, b) = (a.clone(), b.clone());
                    self.steps.push(Action::Reset { at_ms, a, b });
                }
                return Some(Episode {
                    name: "reset",
                    servers: Vec::new(),
                    from: t,
                    to: end,
                    silent: false,
                    crash: None,
                });
            }
        };
        let crash =
            matches!(start, Action::Crash { .. } | Action::SilentDeath { .. }).then(|| servers[0].clone());
        self.steps.push(start);
        self.steps.push(stop);
        Some(Episode {
            name,
            servers,
            from: t,
            to: end,
            silent,
            crash,
        })
    }

    fn places_fault(&mut self, at_ms: u64) -> (Action, &'static str) {
        let fault = |mode, delay_ms, status, code| Action::Places {
            at_ms,
            mode,
            delay_ms,
            status,
            code,
        };
        match self.faults.below(5) {
            0 => (fault(PlacesMode::Down, None, None, None), "places down"),
            1 => {
                let delay = self.faults.range(100, 2_500);
                (fault(PlacesMode::Slow, Some(delay), None, None), "places slow")
            }
            2 => {
                let statuses = [
                    "OVER_QUERY_LIMIT",
                    "REQUEST_DENIED",
                    "UNKNOWN_ERROR",
                    "INVALID_REQUEST",
                ];
                let status = self.faults.pick(&statuses).to_string();
                (
                    fault(PlacesMode::Status, None, Some(status), None),
                    "places error status",
                )
            }
            3 => {
                let code = *self.faults.pick(&[403u16, 429, 500, 503]);
                (
                    fault(PlacesMode::Http, None, None, Some(code)),
                    "places http error",
                )
            }
            _ => (
                fault(PlacesMode::EchoKey, None, None, None),
                "places echoes the key",
            ),
        }
    }
}
