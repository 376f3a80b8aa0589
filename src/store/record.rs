//! One stored update as one shared text, and the merge rule read from it.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::protocol::{ClientTime, Location, Skew, Update};

/// Client time as (seconds, nanoseconds): the first key of the order.
pub(super) type Age = (u64, u32);

/// One client's update as one allocation, shared by both indexes:
/// `<client> <origin> <skew> <location> <time>`. No field holds a space
/// (fields are whitespace-separated on the wire). Ordered, compared and
/// looked up by the client ID alone, whose length is kept beside the
/// pointer: finding the first space at every comparison of a lookup cost
/// more than the rest of a merge.
#[derive(Clone)]
pub(super) struct Record {
    pub(super) text: Arc<str>,
    client_len: usize,
}

/// The client ID of a record's text, where only the text is at hand (the
/// eviction index keeps no length).
pub(super) fn client_of(text: &str) -> &str {
    text.split_once(' ').map_or(text, |(client, _)| client)
}

/// A record's fields, borrowed.
struct Fields<'a> {
    origin: &'a str,
    skew: &'a str,
    location: &'a str,
    time: &'a str,
}

impl Record {
    /// Built in `scratch`, then copied once into its shared allocation.
    pub(super) fn new(update: &Update, scratch: &mut Vec<u8>) -> Self {
        let text = scratch;
        text.clear();
        for field in [&update.client, &update.origin] {
            text.extend_from_slice(field.as_bytes());
            text.push(b' ');
        }
        update.skew.write_to(text);
        for field in [update.location.as_str(), update.time.as_str()] {
            text.push(b' ');
            text.extend_from_slice(field.as_bytes());
        }
        Record {
            text: std::str::from_utf8(text).expect("the fields are text").into(),
            client_len: update.client.len(),
        }
    }

    pub(super) fn client(&self) -> &str {
        &self.text[..self.client_len]
    }

    /// The fields after the client ID.
    fn fields(&self) -> Fields<'_> {
        // A byte loop: the fields are short, and `str::split` with a
        // pattern costs more than the rest of a merge here.
        let mut rest = &self.text[self.client_len + 1..];
        let mut next = || {
            let end = rest.bytes().position(|b| b == b' ').unwrap_or(rest.len());
            let field = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or_default();
            field
        };
        Fields {
            origin: next(),
            skew: next(),
            location: next(),
            time: next(),
        }
    }

    pub(super) fn age(&self) -> Age {
        age_of(self.fields().nanos())
    }

    pub(super) fn update(&self) -> Update {
        let f = self.fields();
        Update {
            origin: f.origin.to_string(),
            skew: f.skew(),
            client: self.client().to_string(),
            location: Location::parse(f.location).expect("stored locations parse"),
            time: ClientTime::parse(f.time).expect("stored times parse"),
        }
    }
}

impl Fields<'_> {
    fn skew(&self) -> Skew {
        Skew::parse(self.skew).expect("stored skews parse")
    }

    fn nanos(&self) -> i128 {
        ClientTime::nanos_of(self.time).expect("stored times parse")
    }
}

impl Borrow<str> for Record {
    fn borrow(&self) -> &str {
        self.client()
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.client() == other.client()
    }
}

impl Eq for Record {}

impl PartialOrd for Record {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Record {
    fn cmp(&self, other: &Self) -> Ordering {
        self.client().cmp(other.client())
    }
}

pub(super) fn age_of(nanos: i128) -> Age {
    ((nanos / 1_000_000_000) as u64, (nanos % 1_000_000_000) as u32)
}

/// How `update` orders against `held`, a record of its client, as
/// `Update::precedence` would, without rebuilding the held update.
pub(super) fn precedence_over(held: &Record, update: &Update) -> Ordering {
    let f = held.fields();
    update.time.nanos().cmp(&f.nanos()).then_with(|| {
        update
            .origin
            .as_str()
            .cmp(f.origin)
            .then_with(|| update.skew.cmp(&f.skew()))
            .then_with(|| update.location.as_str().cmp(f.location))
            .then_with(|| update.time.as_str().cmp(f.time))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(client: &str, time: &str) -> Record {
        let update = Update {
            origin: "Hands".into(),
            skew: Skew(1),
            client: client.into(),
            location: Location::parse("+1.5-2.25").unwrap(),
            time: ClientTime::parse(time).unwrap(),
        };
        Record::new(&update, &mut Vec::new())
    }

    #[test]
    fn records_are_equal_and_ordered_by_client_id_alone() {
        let (kiwi, newer, longer) = (record("kiwi", "1"), record("kiwi", "2"), record("kiwi.cs", "1"));
        assert!(kiwi == newer, "the same client, whatever its update");
        assert!(kiwi != longer);
        assert_eq!(kiwi.partial_cmp(&longer), Some(Ordering::Less));
        assert_eq!(longer.partial_cmp(&newer), Some(Ordering::Greater));
    }
}
