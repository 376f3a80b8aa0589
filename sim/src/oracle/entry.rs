//! A client's location as the oracle keeps it, and which of two the herd
//! must keep (docs/protocol.md, "Ordering"): the greater client time in
//! nanoseconds, then origin name, then skew, then location text, then time
//! text.

use std::cmp::Ordering;
use std::fmt;

use herd::protocol::Update;

use super::text::{fields, skew_ns, skew_text, time_ns};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub origin: String,
    pub skew_ns: i128,
    pub client: String,
    pub location: String,
    pub time: String,
    time_ns: i128,
}

/// (origin, client, location, time): what identifies an IAMAT a client
/// sent to a server.
pub type SentKey = (String, String, String, String);

impl Entry {
    /// `AT <origin> <skew> <client> <location> <time>`.
    pub fn from_at_line(line: &str) -> Option<Self> {
        match fields(line).as_slice() {
            ["AT", origin, skew, client, location, time] => Some(Self {
                origin: origin.to_string(),
                skew_ns: skew_ns(skew)?,
                client: client.to_string(),
                location: location.to_string(),
                time: time.to_string(),
                time_ns: time_ns(time)?,
            }),
            _ => None,
        }
    }

    /// A store change as the server reported it: its plain fields, with
    /// the time text read here.
    pub fn from_update(update: &Update) -> Option<Self> {
        let time = update.time.as_str();
        Some(Self {
            origin: update.origin.clone(),
            skew_ns: update.skew.0,
            client: update.client.clone(),
            location: update.location.as_str().to_string(),
            time: time.to_string(),
            time_ns: time_ns(time)?,
        })
    }

    /// `Greater` when the herd must keep `self` over `other` (same client).
    pub fn order(&self, other: &Self) -> Ordering {
        self.time_ns
            .cmp(&other.time_ns)
            .then_with(|| self.origin.cmp(&other.origin))
            .then_with(|| self.skew_ns.cmp(&other.skew_ns))
            .then_with(|| self.location.cmp(&other.location))
            .then_with(|| self.time.cmp(&other.time))
    }

    /// `self` is what the herd must keep given `other`, or `other` itself.
    pub fn at_least(&self, other: &Self) -> bool {
        self.order(other).is_ge()
    }

    pub fn key(&self) -> SentKey {
        (
            self.origin.clone(),
            self.client.clone(),
            self.location.clone(),
            self.time.clone(),
        )
    }

    /// The client time, in nanoseconds.
    pub fn time_ns(&self) -> i128 {
        self.time_ns
    }
}

impl fmt::Display for Entry {
    /// The AT line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AT {} {} {} {} {}",
            self.origin,
            skew_text(self.skew_ns),
            self.client,
            self.location,
            self.time
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: &str) -> Entry {
        Entry::from_at_line(line).unwrap()
    }

    #[test]
    fn newer_client_time_wins_then_the_rest_breaks_ties() {
        let old = at("AT Hands +0.000000001 kiwi +1+1 100");
        let new = at("AT Goloman +0.000000001 kiwi +1+1 100.5");
        assert!(new.at_least(&old) && !old.at_least(&new));
        // Equal times: origin name, then skew, then location, then time text.
        let hands = at("AT Hands +0.000000001 kiwi +1+1 100.5");
        assert_eq!(hands.order(&new), Ordering::Greater);
        let skewed = at("AT Goloman +0.000000002 kiwi +1+1 100.5");
        assert_eq!(skewed.order(&new), Ordering::Greater);
        let elsewhere = at("AT Goloman +0.000000001 kiwi +2+1 100.5");
        assert_eq!(elsewhere.order(&new), Ordering::Greater);
        let longer = at("AT Goloman +0.000000001 kiwi +1+1 100.50");
        assert_eq!(longer.order(&new), Ordering::Greater);
        assert_eq!(new.order(&new), Ordering::Equal);
    }

    #[test]
    fn writes_the_at_line_it_read() {
        let line = "AT Hands -1.500000000 kiwi +34.068930-118.445127 1520023934.918963997";
        assert_eq!(at(line).to_string(), line);
    }
}
