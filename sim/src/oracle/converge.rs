//! What a `converged` step waits for, in the inside view (the stores as the
//! model rebuilt them), once the herd is quiet:
//! - agreement: servers that reach each other over healthy links hold the
//!   same update for every client;
//! - every update a client was told of (or a newer one) is held by every
//!   server that reaches its origin, when the origin is up;
//! - an update acknowledged right before its origin died is held by the
//!   servers the origin could reach then: so liveness also holds while a
//!   server stays down, and an acknowledged update is never lost.

use std::collections::{BTreeMap, BTreeSet};

use super::entry::Entry;
use super::model::Model;
use super::violation::{Gap, Unconverged};

/// Examples a failure lists.
const EXAMPLES: usize = 5;

#[derive(Default)]
pub struct Told {
    /// Per client, the newest update a client was told of in an AT reply.
    newest: BTreeMap<String, Entry>,
    /// Updates acknowledged right before their origin died, with the
    /// servers that must hold them (or newer).
    survivors: Vec<(Entry, BTreeSet<String>)>,
    /// Client IDs longer than this are not every server's to hold (a
    /// herd in the middle of a rollout of limits): left out.
    shared_id_bytes: Option<usize>,
    /// Changes to what must be held, so that a check can tell none came.
    changes: u64,
}

impl Told {
    /// Only clients with IDs of at most `bytes` must be held everywhere.
    pub fn share_ids_up_to(&mut self, bytes: usize) {
        self.shared_id_bytes = Some(bytes);
    }

    fn shared(&self, client: &str) -> bool {
        self.shared_id_bytes.is_none_or(|most| client.len() <= most)
    }

    /// A client holds an AT reply for this update.
    pub fn told(&mut self, entry: Entry) {
        match self.newest.get(&entry.client) {
            Some(held) if held.at_least(&entry) => {}
            _ => {
                self.newest.insert(entry.client.clone(), entry);
                self.changes += 1;
            }
        }
    }

    pub fn must_survive(&mut self, entry: Entry, servers: BTreeSet<String>) {
        self.survivors.push((entry, servers));
        self.changes += 1;
    }

    /// `server` starts again, empty: what a client was told of that no
    /// other server holds went with it (a server with no live link acks
    /// alone, docs/protocol.md), and is no longer owed.
    pub fn lost_with(&mut self, server: &str, model: &Model) {
        let before = self.newest.len();
        self.newest.retain(|_, want| model.held_elsewhere(want, server));
        if self.newest.len() != before {
            self.changes += 1;
        }
    }

    /// Changes to what must be held so far.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Clients told of an update.
    pub fn clients(&self) -> usize {
        self.newest.len()
    }

    /// Per client, the newest update a client was told of.
    pub fn newest(&self) -> &BTreeMap<String, Entry> {
        &self.newest
    }

    /// `groups`: the servers that are up, by who reaches whom.
    pub fn check(&self, model: &Model, groups: &[Vec<String>]) -> Result<(), Unconverged> {
        let mut gaps = Gaps::default();
        let group_of: BTreeMap<&str, &Vec<String>> = groups
            .iter()
            .flat_map(|g| g.iter().map(move |s| (s.as_str(), g)))
            .collect();
        let behind = |server: &str, want: &Entry| {
            let held = model.held(server, &want.client);
            (!held.is_some_and(|h| h.at_least(want))).then(|| Gap::Behind {
                server: server.to_string(),
                client: want.client.clone(),
                held: held.map(Entry::to_string),
                want: want.to_string(),
            })
        };
        for want in self.newest.values().filter(|w| self.shared(&w.client)) {
            for server in group_of
                .get(want.origin.as_str())
                .into_iter()
                .flat_map(|g| g.iter())
            {
                gaps.add(server, behind(server, want));
            }
        }
        for (want, servers) in &self.survivors {
            for server in servers.iter().filter(|s| group_of.contains_key(s.as_str())) {
                gaps.add(server, behind(server, want));
            }
        }
        for group in groups {
            let Some((first, rest)) = group.split_first() else {
                continue;
            };
            let clients: BTreeSet<&String> = group
                .iter()
                .flat_map(|s| model.store(s).map(|(c, _)| c))
                .filter(|c| self.shared(c))
                .collect();
            for client in clients {
                let a_holds = model.held(first, client);
                for b in rest {
                    let b_holds = model.held(b, client);
                    if a_holds != b_holds {
                        let gap = Gap::Disagree {
                            client: client.clone(),
                            a: first.clone(),
                            a_holds: a_holds.map(Entry::to_string),
                            b: b.clone(),
                            b_holds: b_holds.map(Entry::to_string),
                        };
                        gaps.add(b, Some(gap));
                    }
                }
            }
        }
        gaps.result()
    }
}

#[derive(Default)]
struct Gaps {
    pairs: BTreeSet<(String, String)>,
    examples: Vec<Gap>,
}

impl Gaps {
    fn add(&mut self, server: &str, gap: Option<Gap>) {
        let Some(gap) = gap else { return };
        let client = match &gap {
            Gap::Behind { client, .. } | Gap::Disagree { client, .. } => client.clone(),
        };
        if self.pairs.insert((server.to_string(), client)) && self.examples.len() < EXAMPLES {
            self.examples.push(gap);
        }
    }

    fn result(self) -> Result<(), Unconverged> {
        if self.pairs.is_empty() {
            Ok(())
        } else {
            Err(Unconverged::Gaps {
                count: self.pairs.len(),
                examples: self.examples,
            })
        }
    }
}
