//! Fault episodes: partitions of every shape, holds, latency and loss on
//! a link, crashes and silent deaths (a few servers down at a time, each
//! staying up a while after its restart), Places faults. Each episode
//! lasts at least `MIN_STABLE_MS` and ends before the safety phase does.

use rand::Rng;

use super::{Gen, MIN_STABLE_MS};
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
        let mut t = self.rng.random_range(100..=1_000u64);
        while t + MIN_STABLE_MS <= safety_ms && self.names.len() > 1 {
            let end = (t + self.rng.random_range(MIN_STABLE_MS..=MIN_STABLE_MS * 3)).min(safety_ms);
            let kind = self.rng.random_range(0..11u32);
            let name = self.episode(kind, t, end, &mut downtime, max_down);
            if let Some(name) = name {
                self.params.faults.push(format!("{name} {t}..{end} ms"));
            }
            t += self.rng.random_range(300..=2_000u64);
        }
        downtime
    }

    fn episode(
        &mut self,
        kind: u32,
        t: u64,
        end: u64,
        downtime: &mut Downtime,
        max_down: usize,
    ) -> Option<String> {
        let (at_ms, end_ms) = (t, end);
        let (start, stop, name) = match kind {
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
                        let (a, b) = if self.rng.random_bool(0.5) {
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
                (Action::Partition { at_ms, a, b, oneway }, heal, name)
            }
            4 => {
                let (a, b) = self.pair(true);
                let (a, b) = (vec![a], vec![b]);
                let release = Action::Release {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                };
                (Action::Hold { at_ms, a, b }, release, "hold")
            }
            5 => {
                let (a, b) = self.pair(true);
                let ms = self.rng.random_range(20..=400u64);
                let back = self.rng.random_range(1..=5u64);
                let (a, b) = (vec![a], vec![b]);
                let reset = Action::Latency {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    ms: back,
                };
                (Action::Latency { at_ms, a, b, ms }, reset, "latency")
            }
            6 => {
                let (a, b) = self.pair(true);
                let rate = f64::from(self.rng.random_range(1..=20u32)) / 100.0;
                let (a, b) = (vec![a], vec![b]);
                let reset = Action::Loss {
                    at_ms: end_ms,
                    a: a.clone(),
                    b: b.clone(),
                    rate: 0.0,
                };
                (Action::Loss { at_ms, a, b, rate }, reset, "loss")
            }
            7..=8 => {
                let server = self.server();
                if downtime.most_down(t, end) >= max_down || !downtime.may_crash(&server, t, end) {
                    return None;
                }
                downtime.0.push((server.clone(), t, end));
                let restart = Action::Restart {
                    at_ms: end_ms,
                    server: server.clone(),
                };
                if kind == 7 {
                    (Action::Crash { at_ms, server }, restart, "crash")
                } else {
                    (Action::SilentDeath { at_ms, server }, restart, "silent death")
                }
            }
            _ => {
                let (mode, delay_ms, status, code, name) = match self.rng.random_range(0..4u32) {
                    0 => (PlacesMode::Down, None, None, None, "places down"),
                    1 => (
                        PlacesMode::Slow,
                        Some(self.rng.random_range(100..=2_500u64)),
                        None,
                        None,
                        "places slow",
                    ),
                    2 => {
                        let statuses = [
                            "OVER_QUERY_LIMIT",
                            "REQUEST_DENIED",
                            "UNKNOWN_ERROR",
                            "INVALID_REQUEST",
                        ];
                        let status = self.pick(&statuses).to_string();
                        (
                            PlacesMode::Status,
                            None,
                            Some(status),
                            None,
                            "places error status",
                        )
                    }
                    _ => {
                        let code = *self.pick(&[403u16, 429, 500, 503]);
                        (PlacesMode::Http, None, None, Some(code), "places http error")
                    }
                };
                let ok = Action::Places {
                    at_ms: end_ms,
                    mode: PlacesMode::Ok,
                    delay_ms: None,
                    status: None,
                    code: None,
                };
                let fault = Action::Places {
                    at_ms,
                    mode,
                    delay_ms,
                    status,
                    code,
                };
                (fault, ok, name)
            }
        };
        self.steps.push(start);
        self.steps.push(stop);
        Some(name.to_string())
    }
}
