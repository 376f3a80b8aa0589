//! The bug catalogue: classic herd bugs the server can be built to show,
//! so the simulator can prove that its scenarios and its explorer catch
//! them. Only code built with the `bug-catalogue` feature (the simulator)
//! can switch one on; the `herd` binary has no way to.

use std::fmt;
use std::str::FromStr;

use crate::protocol::{ClientTime, Radius, Skew};

/// One classic mistake of herd servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Forwards every update it receives, changed or not: floods never end.
    ForwardingLoop,
    /// Keeps the last update received instead of the newest.
    StaleOverwrite,
    /// Never reconnects a link once it was lost.
    NoReconnect,
    /// Sends no catch-up when a neighbour (re)subscribes.
    NoReconciliation,
    /// Never declares a silent link dead.
    NoDeadLinkDetection,
    /// Sends the WHATSAT radius to Places in kilometres, not metres.
    RadiusInKilometres,
    /// Accepts `HERD AT` lines from client connections.
    AtFromClients,
    /// Computes the AT skew in floating point.
    FloatSkew,
}

impl Bug {
    pub const ALL: [Bug; 8] = [
        Bug::ForwardingLoop,
        Bug::StaleOverwrite,
        Bug::NoReconnect,
        Bug::NoReconciliation,
        Bug::NoDeadLinkDetection,
        Bug::RadiusInKilometres,
        Bug::AtFromClients,
        Bug::FloatSkew,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::ForwardingLoop => "forwarding-loop",
            Bug::StaleOverwrite => "stale-overwrite",
            Bug::NoReconnect => "no-reconnect",
            Bug::NoReconciliation => "no-reconciliation",
            Bug::NoDeadLinkDetection => "no-dead-link-detection",
            Bug::RadiusInKilometres => "radius-in-kilometres",
            Bug::AtFromClients => "at-from-clients",
            Bug::FloatSkew => "float-skew",
        }
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Bug {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Bug::ALL
            .into_iter()
            .find(|b| b.name() == text)
            .ok_or_else(|| format!("unknown bug {text:?} (see --list-bugs)"))
    }
}

/// `bug!(bugs, Name)`: whether `bugs` switches on `Bug::Name`. Without the
/// `bug-catalogue` feature it is the constant `false`, so a normal build
/// carries no trace of the catalogue in its hot paths.
#[macro_export]
#[doc(hidden)]
macro_rules! bug {
    ($bugs:expr, $bug:ident) => {{
        #[cfg(feature = "bug-catalogue")]
        let on = $bugs.has($crate::bugs::Bug::$bug);
        #[cfg(not(feature = "bug-catalogue"))]
        let on = {
            let _ = &$bugs;
            false
        };
        on
    }};
}

/// Which bug, if any, a server runs with. `Bugs::default()` is none; only
/// the `bug-catalogue` feature can make another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs(Option<Bug>);

impl Bugs {
    #[cfg(feature = "bug-catalogue")]
    pub fn with(bug: Option<Bug>) -> Self {
        Bugs(bug)
    }

    pub fn has(self, bug: Bug) -> bool {
        self.0 == Some(bug)
    }
}

/// The AT skew as a float-minded server computes it: seconds as `f64`,
/// subtracted, rounded back to nanoseconds. Off in the last digits.
pub(crate) fn float_skew(received_nanos: i128, client: &ClientTime) -> Skew {
    let received = received_nanos as f64 / 1e9;
    let sent: f64 = client.as_str().parse().unwrap_or(0.0);
    Skew(((received - sent) * 1e9).round() as i128)
}

/// A radius whose metres are the original's kilometres: what a server
/// that forgets the `* 1000` sends to Places.
pub(crate) fn kilometres_as_metres(radius: &Radius) -> Radius {
    let text = radius.to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let int = format!("{int:0>4}");
    let (whole, thousandths) = int.split_at(int.len() - 3);
    Radius::parse(&format!("{whole}.{thousandths}{frac}")).unwrap_or_else(|_| radius.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
        }
        assert!("nope".parse::<Bug>().is_err());
    }

    #[test]
    fn kilometres_become_metres_of_the_same_number() {
        let r = |s: &str| kilometres_as_metres(&Radius::parse(s).unwrap()).metres_text();
        assert_eq!(r("10"), "10");
        assert_eq!(r("10.5"), "10.5");
        assert_eq!(r("50"), "50");
        assert_eq!(r("0.5"), "0.5");
    }

    #[test]
    fn float_skew_loses_nanoseconds() {
        let time = ClientTime::parse("1767225600.123456789").unwrap();
        let received = 1_767_225_601_000_000_000;
        assert_eq!(Skew::between(received, &time), Skew(876_543_211));
        assert_ne!(float_skew(received, &time), Skew(876_543_211));
    }
}
