//! The location table and its merge rule: per client, the update with the
//! greatest `Update::precedence` wins, whatever order updates arrive in.
//!
//! Bounded: at most `max_clients` clients. A new client past that evicts
//! the client whose update has the oldest client time, unless its own is
//! older still, in which case it is refused; every server with the same
//! limit therefore keeps the same set. Entries are compact (one text
//! allocation besides the shared client ID), since a store may hold
//! millions of them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::protocol::{ClientTime, Location, Skew, Update};

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

/// Client time as (seconds, nanoseconds): the first key of the order.
type Age = (u64, u32);

struct Entry {
    /// Index into `Store::origins`.
    origin: u32,
    age: Age,
    /// `<skew> <location> <time>`, as the AT line shows them.
    text: Box<str>,
}

pub struct Store {
    by_client: BTreeMap<Arc<str>, Entry>,
    /// Every client by its update's client time, oldest first: who goes when full.
    by_age: BTreeSet<(Age, Arc<str>)>,
    /// Origin server names, each kept once.
    origins: Vec<Arc<str>>,
    max_clients: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(usize::MAX)
    }
}

fn age_of(time: &ClientTime) -> Age {
    let nanos = time.nanos();
    ((nanos / 1_000_000_000) as u64, (nanos % 1_000_000_000) as u32)
}

/// An entry's text as `(skew, location, time)`.
fn parts(text: &str) -> (&str, &str, &str) {
    let mut parts = text.split(' ');
    let mut next = || parts.next().unwrap_or_default();
    (next(), next(), next())
}

impl Store {
    pub fn new(max_clients: usize) -> Self {
        Self {
            by_client: BTreeMap::new(),
            by_age: BTreeSet::new(),
            origins: Vec::new(),
            max_clients: max_clients.max(1),
        }
    }

    /// Keeps `update` if it is newer than what the store holds for its
    /// client. An update that changes nothing must not be forwarded (that
    /// is what ends a flood).
    pub fn merge(&mut self, update: &Update) -> Merge {
        let age = age_of(&update.time);
        if let Some((client, entry)) = self.by_client.get_key_value(update.client.as_str()) {
            if self.precedence_over(entry, update).is_le() {
                return Merge::Unchanged;
            }
            let client = client.clone();
            self.replace(client, update, age);
            return Merge::Stored {
                replaced: true,
                evicted: None,
            };
        }
        let mut evicted = None;
        if self.by_client.len() >= self.max_clients {
            let oldest = self.by_age.first().cloned().expect("a full store is not empty");
            let held = self.materialize(&oldest.1, &self.by_client[&oldest.1]);
            if update.precedence(&held).is_le() {
                return Merge::Refused;
            }
            self.by_age.remove(&oldest);
            self.by_client.remove(&oldest.1);
            evicted = Some(held);
        }
        let client: Arc<str> = update.client.as_str().into();
        let entry = self.entry(update, age);
        self.by_age.insert((age, client.clone()));
        self.by_client.insert(client, entry);
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
            .is_some_and(|entry| self.precedence_over(entry, update).is_lt())
    }

    /// How `update` orders against the held `entry` of its client, as
    /// `Update::precedence` would, without rebuilding the held update.
    fn precedence_over(&self, entry: &Entry, update: &Update) -> Ordering {
        age_of(&update.time).cmp(&entry.age).then_with(|| {
            let (skew, location, time) = parts(&entry.text);
            let held_skew = Skew::parse(skew).expect("stored skews parse");
            update
                .origin
                .as_str()
                .cmp(&self.origins[entry.origin as usize])
                .then_with(|| update.skew.cmp(&held_skew))
                .then_with(|| update.location.as_str().cmp(location))
                .then_with(|| update.time.as_str().cmp(time))
        })
    }

    /// Keeps `update` whatever it holds: the stale-overwrite bug of the bug
    /// catalogue.
    pub fn overwrite(&mut self, update: &Update) -> Merge {
        if self.get(&update.client).as_ref() == Some(update) {
            return Merge::Unchanged;
        }
        match self.by_client.get_key_value(update.client.as_str()) {
            Some((client, _)) => {
                let client = client.clone();
                self.replace(client, update, age_of(&update.time));
                Merge::Stored {
                    replaced: true,
                    evicted: None,
                }
            }
            None => self.merge(update),
        }
    }

    fn replace(&mut self, client: Arc<str>, update: &Update, age: Age) {
        let entry = self.entry(update, age);
        let old = self.by_client.insert(client.clone(), entry).expect("held");
        if old.age != age {
            self.by_age.remove(&(old.age, client.clone()));
            self.by_age.insert((age, client));
        }
    }

    fn entry(&mut self, update: &Update, age: Age) -> Entry {
        let origin = match self.origins.iter().position(|o| **o == *update.origin) {
            Some(i) => i,
            None => {
                self.origins.push(update.origin.as_str().into());
                self.origins.len() - 1
            }
        };
        let (location, time) = (update.location.as_str(), update.time.as_str());
        let mut text = Vec::with_capacity(48 + location.len() + time.len());
        update.skew.write_to(&mut text);
        for part in [location, time] {
            text.push(b' ');
            text.extend_from_slice(part.as_bytes());
        }
        Entry {
            origin: origin as u32,
            age,
            text: String::from_utf8(text)
                .expect("skew, location and time are text")
                .into_boxed_str(),
        }
    }

    fn materialize(&self, client: &str, entry: &Entry) -> Update {
        let (skew, location, time) = parts(&entry.text);
        Update {
            origin: self.origins[entry.origin as usize].to_string(),
            skew: Skew::parse(skew).expect("stored skews parse"),
            client: client.to_string(),
            location: Location::parse(location).expect("stored locations parse"),
            time: ClientTime::parse(time).expect("stored times parse"),
        }
    }

    pub fn get(&self, client: &str) -> Option<Update> {
        let (client, entry) = self.by_client.get_key_value(client)?;
        Some(self.materialize(client, entry))
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
            .map(|(client, entry)| self.materialize(client, entry))
            .collect()
    }

    /// Every held update, in client order.
    pub fn iter(&self) -> impl Iterator<Item = Update> + '_ {
        self.by_client
            .iter()
            .map(|(client, entry)| self.materialize(client, entry))
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
        let merged = store.merge(&update("c", "30"));
        assert_eq!(
            merged,
            Merge::Stored {
                replaced: false,
                evicted: Some(update("b", "10"))
            }
        );
        assert_eq!(store.merge(&update("d", "5")), Merge::Refused);
        assert_eq!(store.len(), 2);
        // A newer update of a held client needs no room.
        assert!(store.merge(&update("a", "40")).changed());
        let clients: Vec<String> = store.iter().map(|u| u.client).collect();
        assert_eq!(clients, ["a", "c"]);
    }

    #[test]
    fn eviction_orders_times_within_one_second_by_their_fraction() {
        let mut store = Store::new(2);
        store.merge(&update("a", "100.9"));
        store.merge(&update("b", "100.1"));
        let merged = store.merge(&update("c", "200"));
        assert_eq!(
            merged,
            Merge::Stored {
                replaced: false,
                evicted: Some(update("b", "100.1"))
            }
        );
    }

    #[test]
    fn a_client_updated_to_a_newer_time_is_no_longer_the_oldest() {
        let mut store = Store::new(2);
        store.merge(&update("a", "10"));
        store.merge(&update("b", "20"));
        store.merge(&update("a", "30"));
        let merged = store.merge(&update("c", "40"));
        assert_eq!(
            merged,
            Merge::Stored {
                replaced: false,
                evicted: Some(update("b", "20"))
            }
        );
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
