//! Reconnects back off (docs/protocol.md, "Dead links"): after a failed
//! try a server waits between half and all of its backoff, which starts at
//! `backoff_min_ms` (never less than the 1 ms the setting's range allows)
//! and doubles up to `backoff_max_ms`. It starts afresh only when the
//! neighbour says hello (its own link to us is proven) or after a link
//! stayed up for `dead_after_ms`, and a restarted server starts afresh.
//!
//! Seen from the far end: each try that reaches the neighbour's link port
//! shows there (a server's `open` on its link listener, or a squatter's
//! accept). The k-th such arrival since a reset comes at least half the
//! backoff after the one before, less the spread of network latency;
//! tries that never arrive only make the gaps longer.

use std::collections::BTreeMap;
use std::time::Duration;

use herd::config::Tuning;

use super::harm::Harm;
use super::violation::Violation;

#[derive(Default)]
struct Dialling {
    /// Arrivals since the last reset, and when the last one came.
    arrivals: u32,
    last: Option<Duration>,
    /// When the link last came up.
    up_at: Option<Duration>,
}

pub struct Backoff {
    min_ms: u64,
    max_ms: u64,
    /// How long a link must stay up to reset the backoff, less the
    /// handshake (the server counts from the connect, we from the hello).
    long_ms: u64,
    /// By (dialling server, neighbour).
    pairs: BTreeMap<(String, String), Dialling>,
}

impl Backoff {
    pub fn new(tuning: &Tuning) -> Self {
        Self {
            min_ms: tuning.backoff_min_ms.max(1),
            max_ms: tuning.backoff_max_ms.max(1),
            long_ms: tuning.dead_after_ms.saturating_sub(tuning.handshake_timeout_ms),
            pairs: BTreeMap::new(),
        }
    }

    fn pair(&mut self, server: &str, neighbour: &str) -> &mut Dialling {
        let key = (server.to_string(), neighbour.to_string());
        self.pairs.entry(key).or_default()
    }

    /// `server` starts afresh with `neighbour` (every neighbour when `None`).
    pub fn reset(&mut self, server: &str, neighbour: Option<&str>) {
        for ((s, n), d) in &mut self.pairs {
            if s == server && neighbour.is_none_or(|x| x == n) {
                d.arrivals = 0;
                d.last = None;
            }
        }
    }

    pub fn link_up(&mut self, server: &str, neighbour: &str, at: Duration) {
        self.pair(server, neighbour).up_at = Some(at);
    }

    pub fn link_down(&mut self, server: &str, neighbour: &str, at: Duration) {
        let long = self.long_ms;
        let up_at = self.pair(server, neighbour).up_at.take();
        if up_at.is_some_and(|up| at.saturating_sub(up).as_millis() as u64 >= long) {
            self.reset(server, Some(neighbour));
        }
    }

    /// A try of `server`'s reached `neighbour` at `at`; `spread_ms` is how
    /// much sooner than the last one its connect may have travelled.
    pub fn arrived(
        &mut self,
        server: &str,
        neighbour: &str,
        at: Duration,
        spread_ms: u64,
    ) -> Result<(), Violation> {
        let (min_ms, max_ms) = (self.min_ms, self.max_ms);
        let d = self.pair(server, neighbour);
        let previous = d.last.replace(at);
        d.arrivals += 1;
        let Some(previous) = previous else {
            return Ok(());
        };
        let doublings = (d.arrivals - 2).min(63);
        let backoff_ms = min_ms.saturating_mul(1u64 << doublings).min(max_ms);
        let want_ms = backoff_ms / 2;
        let gap_ms = at.saturating_sub(previous).as_millis() as u64;
        if gap_ms + spread_ms < want_ms {
            return Err(Violation::Harm(Harm::HotReconnect {
                server: server.to_string(),
                neighbour: neighbour.to_string(),
                attempt: d.arrivals,
                gap_ms,
                want_ms,
            }));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn backoff() -> Backoff {
        let tuning = Tuning {
            backoff_min_ms: 100,
            backoff_max_ms: 1_000,
            dead_after_ms: 1_000,
            handshake_timeout_ms: 200,
            ..Tuning::default()
        };
        Backoff::new(&tuning)
    }

    #[test]
    fn each_try_waits_half_a_doubling_backoff() {
        let mut b = backoff();
        let mut at = 0;
        for gap in [0, 50, 100, 200, 400, 500, 500] {
            at += gap;
            assert_eq!(b.arrived("A", "B", ms(at), 0), Ok(()), "at {at}");
        }
        let err = b.arrived("A", "B", ms(at + 400), 0).unwrap_err();
        assert!(matches!(
            err,
            Violation::Harm(Harm::HotReconnect { want_ms: 500, .. })
        ));
    }

    #[test]
    fn a_hello_or_a_long_lived_link_starts_afresh() {
        let mut b = backoff();
        for at in [0, 50, 150] {
            b.arrived("A", "B", ms(at), 0).unwrap();
        }
        b.reset("A", Some("B"));
        b.arrived("A", "B", ms(151), 0).unwrap();
        b.arrived("A", "B", ms(201), 0).unwrap();
        b.link_up("A", "B", ms(300));
        b.link_down("A", "B", ms(1_200));
        b.arrived("A", "B", ms(1_210), 0).unwrap();
        b.arrived("A", "B", ms(1_260), 0).unwrap();
        assert!(
            b.arrived("A", "B", ms(1_300), 0).is_err(),
            "too soon after a short link"
        );
    }
}
