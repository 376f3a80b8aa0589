//! Which neighbours a changed update goes to (SPEC §3, flooding), and the
//! `seen` list it carries there under pruned flooding.
//!
//! Plain: every subscribed neighbour but the one it came from. Pruned: also
//! skip the neighbours the update says were sent it already, and tell the
//! next hop whom we sent it to. A neighbour counts as sent only if it was
//! heard from recently: an update queued on a link that silently died must
//! stay deliverable by the other paths.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Flooding;

pub struct Policy {
    pub flooding: Flooding,
    pub heartbeat: Duration,
    /// Send to every neighbour, the sender included (the forwarding-loop bug).
    pub looping: bool,
}

impl Policy {
    /// Whether an update that came `from` (none: from a client) and says it
    /// was sent to `seen` goes to `neighbour`.
    pub fn sends_to(&self, neighbour: &str, from: Option<&str>, seen: &[String]) -> bool {
        let pruned = self.flooding == Flooding::Pruned;
        self.looping || !(Some(neighbour) == from || (pruned && seen.iter().any(|s| s == neighbour)))
    }

    /// The `seen` list that goes with it to `targets` (each a neighbour and
    /// when it was last heard from): `None` unless flooding is pruned.
    pub fn seen_after<'a>(
        &self,
        me: &str,
        targets: impl Iterator<Item = (&'a str, Instant)>,
        seen: &[String],
    ) -> Option<Vec<String>> {
        if self.flooding != Flooding::Pruned {
            return None;
        }
        let fresh_since = Instant::now().checked_sub(self.heartbeat + self.heartbeat / 2);
        let mut all: Vec<String> = seen.to_vec();
        all.push(me.to_string());
        all.extend(
            targets
                .filter(|(_, heard_at)| fresh_since.is_none_or(|t| *heard_at >= t))
                .map(|(neighbour, _)| neighbour.to_string()),
        );
        all.sort();
        all.dedup();
        Some(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(flooding: Flooding) -> Policy {
        Policy {
            flooding,
            heartbeat: Duration::from_secs(1),
            looping: false,
        }
    }

    fn targets(policy: &Policy, from: Option<&str>, seen: &[String]) -> Vec<&'static str> {
        ["A", "B", "C"]
            .into_iter()
            .filter(|n| policy.sends_to(n, from, seen))
            .collect()
    }

    #[test]
    fn plain_skips_only_the_sender() {
        let p = policy(Flooding::Plain);
        let seen = ["A".to_string()];
        assert_eq!(targets(&p, Some("B"), &seen), ["A", "C"]);
        assert_eq!(
            p.seen_after("M", [("A", Instant::now())].into_iter(), &seen),
            None
        );
    }

    #[test]
    fn pruned_skips_the_seen_and_passes_on_whom_it_sent_to() {
        let p = policy(Flooding::Pruned);
        let seen = ["A".to_string(), "B".to_string()];
        let to = targets(&p, Some("B"), &seen);
        assert_eq!(to, ["C"]);
        let heard = to.into_iter().map(|n| (n, Instant::now()));
        assert_eq!(p.seen_after("M", heard, &seen).unwrap(), ["A", "B", "C", "M"]);
    }

    #[test]
    fn a_neighbour_not_heard_from_for_a_heartbeat_and_a_half_is_not_counted_as_sent() {
        let p = policy(Flooding::Pruned);
        let now = Instant::now();
        let ago = |ms| {
            now.checked_sub(Duration::from_millis(ms))
                .expect("uptime over 2 s")
        };
        let heard = [("C", ago(1_600)), ("D", ago(1_400)), ("E", now)].into_iter();
        assert_eq!(p.seen_after("M", heard, &[]).unwrap(), ["D", "E", "M"]);
    }
}
