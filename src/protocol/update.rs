use std::cmp::Ordering;
use std::fmt;

use super::{ClientTime, Location, Skew};

/// One client location as the herd stores and floods it: everything needed
/// to rebuild the origin server's AT line anywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The server that received the IAMAT.
    pub origin: String,
    pub skew: Skew,
    pub client: String,
    pub location: Location,
    pub time: ClientTime,
}

impl Update {
    /// The total order behind "newest wins": client time first, then the
    /// rest of the record, so two different updates with equal client times
    /// resolve the same way on every server whatever the arrival order.
    pub fn precedence(&self, other: &Self) -> Ordering {
        self.time
            .nanos()
            .cmp(&other.time.nanos())
            .then_with(|| self.origin.cmp(&other.origin))
            .then_with(|| self.skew.cmp(&other.skew))
            .then_with(|| self.location.as_str().cmp(other.location.as_str()))
            .then_with(|| self.time.as_str().cmp(other.time.as_str()))
    }

    /// `AT <origin> <skew> <client> <location> <time>`, no line ending.
    pub fn at_line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Update {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "AT {} {} {} {} {}",
            self.origin, self.skew, self.client, self.location, self.time
        )
    }
}
