//! The inside view: every server's store, rebuilt from the store changes it
//! reports (`Stored`, `Evicted`), each checked as it happens. A change must
//! move its client forward in the documented order (never back, whatever
//! the delivery order), must carry an update some client sent to its origin
//! (keyed on what the driver sent), and must replace what the server's
//! earlier changes left. A restarted server starts with an empty store.

use std::collections::{BTreeMap, BTreeSet};

use herd::protocol::Update;

use super::entry::{Entry, SentKey};
use super::text::Iamat;
use super::violation::Violation;
use crate::observe::ServerEvent;

#[derive(Default)]
pub struct Model {
    sent: BTreeSet<SentKey>,
    /// Per server and client, what it holds.
    stores: BTreeMap<String, BTreeMap<String, Entry>>,
    /// Store changes so far, so that a check can tell nothing changed.
    changes: u64,
}

fn line(update: Option<&Update>) -> Option<String> {
    update.map(|u| match Entry::from_update(u) {
        Some(entry) => entry.to_string(),
        None => format!("{u:?}"),
    })
}

impl Model {
    /// A client sent this IAMAT to `server`.
    pub fn sent(&mut self, server: &str, iamat: &Iamat) {
        self.sent.insert((
            server.to_string(),
            iamat.client.clone(),
            iamat.location.clone(),
            iamat.time.clone(),
        ));
    }

    /// `server` starts again, empty.
    pub fn restarted(&mut self, server: &str) {
        self.stores.remove(server);
        self.changes += 1;
    }

    /// Changes to the stores so far.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Whether a server other than `but` holds `want` or a newer update
    /// of its client.
    pub fn held_elsewhere(&self, want: &Entry, but: &str) -> bool {
        self.stores
            .iter()
            .filter(|(server, _)| *server != but)
            .any(|(_, store)| store.get(&want.client).is_some_and(|h| h.at_least(want)))
    }

    /// What `server` holds for `client`.
    pub fn held(&self, server: &str, client: &str) -> Option<&Entry> {
        self.stores.get(server).and_then(|s| s.get(client))
    }

    /// Everything `server` holds, by client.
    pub fn store(&self, server: &str) -> impl Iterator<Item = (&String, &Entry)> {
        self.stores.get(server).into_iter().flatten()
    }

    /// Checks one event of `server` and follows its store.
    pub fn observe(&mut self, server: &str, event: &ServerEvent) -> Result<(), Violation> {
        if matches!(event, ServerEvent::Stored { .. } | ServerEvent::Evicted { .. }) {
            self.changes += 1;
        }
        match event {
            ServerEvent::Stored { update, replaced, .. } => self.stored(server, update, replaced.as_ref()),
            ServerEvent::Evicted { update } => {
                if let Some(store) = self.stores.get_mut(server) {
                    if store
                        .get(&update.client)
                        .is_some_and(|e| Some(e) == Entry::from_update(update).as_ref())
                    {
                        store.remove(&update.client);
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn stored(&mut self, server: &str, update: &Update, replaced: Option<&Update>) -> Result<(), Violation> {
        let never_sent = || Violation::NeverSent {
            server: server.to_string(),
            update: line(Some(update)).unwrap_or_default(),
        };
        // A time the oracle cannot read was never in an IAMAT it counted.
        let entry = Entry::from_update(update).ok_or_else(never_sent)?;
        if !self.sent.contains(&entry.key()) {
            return Err(never_sent());
        }
        let store = self.stores.entry(server.to_string()).or_default();
        let held = store.get(&entry.client);
        if held != replaced.and_then(Entry::from_update).as_ref() {
            return Err(Violation::Misreported {
                server: server.to_string(),
                client: entry.client.clone(),
                mirror: held.map(Entry::to_string),
                reported: line(replaced),
            });
        }
        if let Some(held) = held {
            if !entry.at_least(held) {
                return Err(Violation::BackInTime {
                    server: server.to_string(),
                    client: entry.client.clone(),
                    held: held.to_string(),
                    now: entry.to_string(),
                });
            }
        }
        store.insert(entry.client.clone(), entry);
        Ok(())
    }
}
