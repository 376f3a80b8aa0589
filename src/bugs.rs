//! The bug catalogue: classic herd bugs the server can be built to show,
//! so the simulator can prove that its scenarios and its explorer catch
//! them. Only code built with the `bug-catalogue` feature (the simulator)
//! can switch one on, and only then is the catalogue public; the `herd`
//! binary has no way to.

use crate::protocol::{fields, ClientCommand, ClientTime, Location, Radius, Skew};

/// One classic mistake of herd servers. Its name (`forwarding-loop`, ...)
/// is what `--bug` takes.
#[cfg(feature = "bug-catalogue")]
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "kebab-case", parse_err_ty = String, parse_err_fn = unknown_bug)]
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
    /// Sends the AT reply before the neighbours hold the update (what
    /// `ack = "local"` does on purpose), while claiming `ack = "herd"`.
    AckBeforeFlood,
    /// Accepts `[tuning] heartbeat_ms = 0` at load.
    ZeroHeartbeat,
    /// Accepts `[tuning] backoff_min_ms = 0` at load: a backoff that never grows.
    ZeroBackoff,
    /// Accepts any `[tuning] idle_timeout_ms` at load, past what a clock can add.
    UnboundedIdleTimeout,
    /// Starts the reconnect backoff afresh on every TCP connect, even one
    /// the neighbour drops at once.
    BackoffResetOnConnect,
    /// Sends a catch-up dump as one write, under one `dead_after_ms` deadline.
    WholeDump,
    /// Drops a link when a neighbour sends a line longer than our limit.
    LongPeerLineDropsLink,
    /// Answers every `HERD RESYNC` with a dump of its own, under any flooding.
    UncoalescedResync,
    /// Drops a neighbour whose queue passed `link_queue` (it reconnects
    /// and is sent a full dump).
    QueueOverflowDropsLink,
    /// Starts the acknowledgement give-up timer only when the neighbour's
    /// link next says something, so a silent one holds replies until dead.
    AckTimerOnRead,
    /// Acknowledges a client's IAMAT older than the update held at once,
    /// while the newer one may still be spreading.
    OlderIamatAckedEarly,
    /// Takes a `HERD HELLO` on its word: no proof of the herd secret asked.
    HelloUnverified,
    /// Believes whatever answers on a neighbour's link port: the
    /// publisher's proof of the herd secret is not checked.
    SquatterTrusted,
    /// Refuses a new client when every slot is taken, idle or not.
    FullRefusesNewcomers,
    /// Holds a link-port slot for the connection's whole life, feed
    /// included, and never gives it up to a newcomer (the old spare slots).
    LinkSlotsHeld,
    /// Accepts an IAMAT whatever its time and client ID length.
    FutureTimeAccepted,
    /// Checks coordinate ranges in floating point.
    FloatRangeCheck,
    /// Passes a Places answer to the client without scrubbing the API key.
    KeyEcho,
}

#[cfg(feature = "bug-catalogue")]
impl Bug {
    /// The whole catalogue, in declaration order.
    pub const ALL: &'static [Bug] = <Bug as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[cfg(feature = "bug-catalogue")]
fn unknown_bug(text: &str) -> String {
    format!("unknown bug {text:?} (see --list-bugs)")
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
/// the `bug-catalogue` feature can make another, and without it there is
/// nothing inside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs(#[cfg(feature = "bug-catalogue")] Option<Bug>);

#[cfg(feature = "bug-catalogue")]
impl Bugs {
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

/// An IAMAT as a server that checks coordinates in `f64` reads it:
/// `+90.00000000000000000001` is 90.0 there, so it passes.
pub(crate) fn float_ranged(line: &[u8]) -> Option<ClientCommand> {
    let text = std::str::from_utf8(line).ok()?;
    let [verb, client, location, time] = fields(text).collect::<Vec<_>>()[..] else {
        return None;
    };
    let split = location
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-')?
        .0;
    let (lat, lon) = location.split_at(split);
    let (lat, lon): (f64, f64) = (lat.parse().ok()?, lon.parse().ok()?);
    let ranged = lat.abs() <= 90.0 && lon.abs() <= 180.0;
    (verb == "IAMAT" && ranged).then_some(())?;
    Some(ClientCommand::IAmAt {
        client: client.to_string(),
        location: Location::unchecked(location, split),
        time: ClientTime::parse(time).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "bug-catalogue")]
    #[test]
    fn names_round_trip() {
        let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
        assert_eq!(names[..2], ["forwarding-loop", "stale-overwrite"]);
        for &bug in Bug::ALL {
            assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
            assert_eq!(bug.to_string(), bug.name());
        }
        assert_eq!(
            "nope".parse::<Bug>(),
            Err("unknown bug \"nope\" (see --list-bugs)".to_string())
        );
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
    fn float_ranges_let_a_hair_past_the_pole_through() {
        let line = b"IAMAT k +90.00000000000000000001+0 1";
        assert!(crate::protocol::parse_client_line(line).is_err());
        assert!(float_ranged(line).is_some());
        assert!(float_ranged(b"IAMAT k +90.1+0 1").is_none());
    }

    #[test]
    fn float_skew_loses_nanoseconds() {
        let time = ClientTime::parse("1767225600.123456789").unwrap();
        let received = 1_767_225_601_000_000_000;
        assert_eq!(Skew::between(received, &time), Skew(876_543_211));
        assert_ne!(float_skew(received, &time), Skew(876_543_211));
    }
}
