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

/// One subscribed neighbour, as the policy sees it.
pub struct Candidate<'a> {
    pub neighbour: &'a str,
    pub heard_at: Instant,
}

pub struct Policy {
    pub flooding: Flooding,
    pub heartbeat: Duration,
    /// Send to every neighbour, the sender included (the forwarding-loop bug).
    pub looping: bool,
}

/// The chosen targets (indices into the candidates) and the `seen` list.
pub struct Targets {
    pub indices: Vec<usize>,
    pub seen: Vec<String>,
}

impl Policy {
    pub fn targets(
        &self,
        me: &str,
        candidates: &[Candidate<'_>],
        from: Option<&str>,
        seen: &[String],
    ) -> Targets {
        let pruned = self.flooding == Flooding::Pruned;
        let skip = |neighbour: &str| {
            !self.looping && (Some(neighbour) == from || (pruned && seen.iter().any(|s| s == neighbour)))
        };
        let indices: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| !skip(c.neighbour))
            .map(|(i, _)| i)
            .collect();
        if !pruned {
            return Targets {
                indices,
                seen: Vec::new(),
            };
        }
        let fresh_since = Instant::now().checked_sub(self.heartbeat + self.heartbeat / 2);
        let mut all: Vec<String> = seen.to_vec();
        all.push(me.to_string());
        all.extend(
            indices
                .iter()
                .map(|&i| &candidates[i])
                .filter(|c| fresh_since.is_none_or(|t| c.heard_at >= t))
                .map(|c| c.neighbour.to_string()),
        );
        all.sort();
        all.dedup();
        Targets { indices, seen: all }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(names: &[&'static str]) -> Vec<Candidate<'static>> {
        names
            .iter()
            .map(|n| Candidate {
                neighbour: n,
                heard_at: Instant::now(),
            })
            .collect()
    }

    fn policy(flooding: Flooding) -> Policy {
        Policy {
            flooding,
            heartbeat: Duration::from_secs(1),
            looping: false,
        }
    }

    #[test]
    fn plain_skips_only_the_sender() {
        let c = candidates(&["A", "B", "C"]);
        let t = policy(Flooding::Plain).targets("M", &c, Some("B"), &["A".into()]);
        assert_eq!(t.indices, [0, 2]);
        assert!(t.seen.is_empty());
    }

    #[test]
    fn pruned_skips_the_seen_and_passes_on_whom_it_sent_to() {
        let c = candidates(&["A", "B", "C"]);
        let t = policy(Flooding::Pruned).targets("M", &c, Some("B"), &["A".into(), "B".into()]);
        assert_eq!(t.indices, [2]);
        assert_eq!(t.seen, ["A", "B", "C", "M"]);
    }
}
