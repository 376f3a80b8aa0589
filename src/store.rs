//! The location table and its merge rule: per client, the update with the
//! greatest `Update::precedence` wins, whatever order updates arrive in.

use std::collections::BTreeMap;

use crate::protocol::Update;

#[derive(Debug, Default, Clone)]
pub struct Store {
    by_client: BTreeMap<String, Update>,
}

impl Store {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `update` if it is newer than what the store holds for its
    /// client. Returns whether anything changed: an update that changes
    /// nothing must not be forwarded (that is what ends a flood).
    pub fn merge(&mut self, update: Update) -> bool {
        match self.by_client.get_mut(&update.client) {
            Some(held) if held.precedence(&update).is_ge() => false,
            Some(held) => {
                *held = update;
                true
            }
            None => {
                self.by_client.insert(update.client.clone(), update);
                true
            }
        }
    }

    /// Keeps `update` whatever it holds: the stale-overwrite bug of the
    /// bug catalogue. Returns whether anything changed.
    pub fn overwrite(&mut self, update: Update) -> bool {
        let changed = self.get(&update.client) != Some(&update);
        self.by_client.insert(update.client.clone(), update);
        changed
    }

    pub fn get(&self, client: &str) -> Option<&Update> {
        self.by_client.get(client)
    }

    /// Every held update, in client order.
    pub fn iter(&self) -> impl Iterator<Item = &Update> {
        self.by_client.values()
    }

    pub fn len(&self) -> usize {
        self.by_client.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }
}
