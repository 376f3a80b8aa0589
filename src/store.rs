//! The location table and its merge rule: per client, the update with the
//! greatest `Update::precedence` wins, whatever order updates arrive in.
//!
//! Bounded: at most `max_clients` clients. A new client past that evicts
//! the client whose update has the oldest client time, unless its own is
//! older still, in which case it is refused; every server with the same
//! limit therefore keeps the same set. A client costs one allocation,
//! shared by both indexes, since a store may hold millions of them.

mod record;

use std::collections::BTreeSet;
use std::sync::Arc;

use self::record::{age_of, client_of, precedence_over, Age, Record};
use crate::protocol::Update;

/// What merging one update did. Returned once per merge and consumed at
/// once, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Merge {
    /// The store held this update or a newer one: nothing changed.
    Unchanged,
    /// Stored; it replaced an update of the same client (`get` it first to
    /// know which), or made room by evicting `evicted`.
    Stored { replaced: bool, evicted: Option<Update> },
    /// The store is full and the update is older than everything in it.
    Refused,
}

impl Merge {
    pub fn changed(&self) -> bool {
        matches!(self, Merge::Stored { .. })
    }
}

/// Two ordered sets of shared records, rather than maps of owned fields:
/// a set element is one pointer, and the record one allocation, which is
/// most of what a client costs at a million of them.
pub struct Store {
    by_client: BTreeSet<Record>,
    /// Every client by its update's client time, oldest first: who goes
    /// when full. Ties go by the record's text, which starts with the
    /// client ID and is the same on every server.
    by_age: BTreeSet<(Age, Arc<str>)>,
    max_clients: usize,
    /// Where the next record is written before it is shared.
    scratch: Vec<u8>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(usize::MAX)
    }
}

impl Store {
    pub fn new(max_clients: usize) -> Self {
        Self {
            by_client: BTreeSet::new(),
            by_age: BTreeSet::new(),
            max_clients: max_clients.max(1),
            scratch: Vec::new(),
        }
    }

    /// Keeps `update` if it is newer than what the store holds for its
    /// client. An update that changes nothing must not be forwarded (that
    /// is what ends a flood).
    pub fn merge(&mut self, update: &Update) -> Merge {
        if let Some(held) = self.by_client.get(update.client.as_str()) {
            if precedence_over(held, update).is_le() {
                return Merge::Unchanged;
            }
            self.replace(update);
            return Merge::Stored {
                replaced: true,
                evicted: None,
            };
        }
        let mut evicted = None;
        if self.by_client.len() >= self.max_clients {
            let (age, oldest) = self.by_age.first().cloned().expect("a full store is not empty");
            let client = client_of(&oldest);
            let held = self.by_client.get(client).expect("both indexes hold it").update();
            if update.precedence(&held).is_le() {
                return Merge::Refused;
            }
            self.by_age.remove(&(age, oldest.clone()));
            self.by_client.remove(client);
            evicted = Some(held);
        }
        let record = Record::new(update, &mut self.scratch);
        self.by_age
            .insert((age_of(update.time.nanos()), record.text.clone()));
        self.by_client.insert(record);
        Merge::Stored {
            replaced: false,
            evicted,
        }
    }

    /// Whether the store holds an update of `update`'s client that takes
    /// precedence over it.
    pub fn holds_newer(&self, update: &Update) -> bool {
        self.by_client
            .get(update.client.as_str())
            .is_some_and(|held| precedence_over(held, update).is_lt())
    }

    /// Keeps `update` whatever it holds: the stale-overwrite bug of the bug
    /// catalogue.
    pub fn overwrite(&mut self, update: &Update) -> Merge {
        match self.by_client.get(update.client.as_str()) {
            Some(held) if held.update() == *update => Merge::Unchanged,
            Some(_) => {
                self.replace(update);
                Merge::Stored {
                    replaced: true,
                    evicted: None,
                }
            }
            None => self.merge(update),
        }
    }

    /// Stores `update` in place of its client's record.
    fn replace(&mut self, update: &Update) {
        let record = Record::new(update, &mut self.scratch);
        self.by_age
            .insert((age_of(update.time.nanos()), record.text.clone()));
        let old = self.by_client.replace(record).expect("held");
        self.by_age.remove(&(old.age(), old.text));
    }

    pub fn get(&self, client: &str) -> Option<Update> {
        self.by_client.get(client).map(Record::update)
    }

    /// Up to `limit` updates of clients after `after` (all from the start
    /// when `None`), in client order: a catch-up dump reads the store in
    /// such chunks, so it never holds more than one chunk.
    pub fn chunk_after(&self, after: Option<&str>, limit: usize) -> Vec<Update> {
        use std::ops::Bound::{Excluded, Unbounded};
        let start = after.map_or(Unbounded, Excluded);
        self.by_client
            .range::<str, _>((start, Unbounded))
            .take(limit)
            .map(Record::update)
            .collect()
    }

    /// Every held update, in client order.
    pub fn iter(&self) -> impl Iterator<Item = Update> + '_ {
        self.by_client.iter().map(Record::update)
    }

    pub fn len(&self) -> usize {
        self.by_client.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientTime, Location, Skew};

    fn update(client: &str, time: &str) -> Update {
        Update {
            origin: "Hands".into(),
            skew: Skew(-5),
            client: client.into(),
            location: Location::parse("+1.5-2.25").unwrap(),
            time: ClientTime::parse(time).unwrap(),
        }
    }

    #[test]
    fn an_update_comes_back_exactly_as_stored() {
        let mut store = Store::default();
        let u = update("kiwi", "1520023934.918963997");
        assert!(store.merge(&u).changed());
        assert_eq!(store.get("kiwi"), Some(u.clone()));
        assert_eq!(store.merge(&u), Merge::Unchanged);
    }

    #[test]
    fn a_full_store_evicts_the_oldest_client_time_or_refuses_an_older_one() {
        let mut store = Store::new(2);
        store.merge(&update("a", "20"));
        store.merge(&update("b", "10"));
        assert_eq!(store.merge(&update("c", "30")), stored_evicting("b", "10"));
        assert_eq!(store.merge(&update("d", "5")), Merge::Refused);
        assert_eq!(store.len(), 2);
        // A newer update of a held client needs no room.
        assert!(store.merge(&update("a", "40")).changed());
        let clients: Vec<String> = store.iter().map(|u| u.client).collect();
        assert_eq!(clients, ["a", "c"]);
    }

    /// What a store of two clients, given `held` in turn, does with one more.
    fn merge_into_two(held: &[(&str, &str)], client: &str, time: &str) -> Merge {
        let mut store = Store::new(2);
        for (c, t) in held {
            store.merge(&update(c, t));
        }
        store.merge(&update(client, time))
    }

    fn stored_evicting(client: &str, time: &str) -> Merge {
        Merge::Stored {
            replaced: false,
            evicted: Some(update(client, time)),
        }
    }

    #[test]
    fn eviction_orders_times_within_one_second_by_their_fraction() {
        let merged = merge_into_two(&[("a", "100.9"), ("b", "100.1")], "c", "200");
        assert_eq!(merged, stored_evicting("b", "100.1"));
    }

    #[test]
    fn eviction_orders_fractions_wherever_the_second_falls() {
        // 3.1 and 3.9 straddle 2^32 nanoseconds once a second is added:
        // only the remainder, not a sum, keeps their order.
        let merged = merge_into_two(&[("a", "3.9"), ("b", "3.1")], "c", "10");
        assert_eq!(merged, stored_evicting("b", "3.1"));
    }

    #[test]
    fn holds_newer_only_for_a_strictly_newer_update_of_the_client() {
        let mut store = Store::default();
        store.merge(&update("kiwi", "20"));
        assert!(store.holds_newer(&update("kiwi", "10")));
        assert!(!store.holds_newer(&update("kiwi", "20")));
        assert!(!store.holds_newer(&update("kiwi", "30")));
        assert!(!store.holds_newer(&update("apple", "10")));
    }

    #[test]
    fn a_client_updated_to_a_newer_time_is_no_longer_the_oldest() {
        let merged = merge_into_two(&[("a", "10"), ("b", "20"), ("a", "30")], "c", "40");
        assert_eq!(merged, stored_evicting("b", "20"));
    }

    #[test]
    fn overwrite_takes_an_older_update_but_not_the_same_one_again() {
        let mut store = Store::default();
        assert!(store.is_empty());
        store.merge(&update("kiwi", "20"));
        assert!(!store.is_empty());
        assert!(store.overwrite(&update("kiwi", "10")).changed());
        assert_eq!(store.get("kiwi"), Some(update("kiwi", "10")));
        assert_eq!(store.overwrite(&update("kiwi", "10")), Merge::Unchanged);
    }

    #[test]
    fn chunks_cover_the_store_in_client_order() {
        let mut store = Store::default();
        for c in ["d", "a", "c", "b", "e"] {
            store.merge(&update(c, "1"));
        }
        let first = store.chunk_after(None, 2);
        let second = store.chunk_after(Some(&first[1].client), 2);
        let third = store.chunk_after(Some(&second[1].client), 2);
        let all: Vec<String> = [first, second, third]
            .concat()
            .into_iter()
            .map(|u| u.client)
            .collect();
        assert_eq!(all, ["a", "b", "c", "d", "e"]);
    }
}
