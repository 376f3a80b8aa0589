//! Properties of the pure protocol layer: what we format we parse back, and
//! no input, however hostile, makes a parser panic.

use herd::protocol::{
    parse_client_line, ClientCommand, ClientTime, Location, ParseError, PeerMessage, Radius, Skew, Update,
};
use proptest::prelude::*;

/// A client ID: any run of non-white-space characters, Unicode included.
fn client_id() -> impl Strategy<Value = String> {
    "[^ \t\r\n\u{b}\u{c}]{1,24}"
        .prop_filter("no Unicode white space", |s| !s.chars().any(char::is_whitespace))
}

fn location_text() -> impl Strategy<Value = String> {
    (-90_000_000i64..=90_000_000, -180_000_000i64..=180_000_000).prop_map(|(lat, lon)| {
        let part = |v: i64| {
            format!(
                "{}{}.{:06}",
                if v < 0 { '-' } else { '+' },
                v.abs() / 1_000_000,
                v.abs() % 1_000_000
            )
        };
        format!("{}{}", part(lat), part(lon))
    })
}

fn time_text() -> impl Strategy<Value = String> {
    (0u64..4_000_000_000, proptest::option::of("[0-9]{1,9}"))
        .prop_map(|(secs, frac)| frac.map_or(secs.to_string(), |f| format!("{secs}.{f}")))
}

/// One or more of the separators SPEC.md allows.
fn gap() -> impl Strategy<Value = String> {
    "[ \t\u{b}\u{c}]{1,3}"
}

fn update() -> impl Strategy<Value = Update> {
    (
        "[A-Za-z]{1,8}",
        any::<i64>(),
        client_id(),
        location_text(),
        time_text(),
    )
        .prop_map(|(origin, skew, client, loc, time)| Update {
            origin,
            skew: Skew(skew as i128),
            client,
            location: Location::parse(&loc).unwrap(),
            time: ClientTime::parse(&time).unwrap(),
        })
}

/// 1 to 20 fraction digits, not all zero, often with the first nonzero one
/// far past `f64` precision: a value this much over a limit is over it.
fn nonzero_fraction() -> impl Strategy<Value = String> {
    (0usize..20, "[1-9][0-9]{0,19}").prop_map(|(zeros, rest)| {
        let mut frac = "0".repeat(zeros) + &rest;
        frac.truncate(20);
        frac
    })
}

proptest! {
    #[test]
    fn anything_past_a_limit_is_refused(frac in nonzero_fraction(), sign in "[+-]") {
        let lat = format!("{sign}90.{frac}+0");
        prop_assert_eq!(Location::parse(&lat), Err(ParseError::LatitudeOutOfRange(lat.clone())));
        let lon = format!("+0{sign}180.{frac}");
        prop_assert_eq!(Location::parse(&lon), Err(ParseError::LongitudeOutOfRange(lon.clone())));
        let radius = format!("50.{frac}");
        prop_assert_eq!(Radius::parse(&radius), Err(ParseError::RadiusOutOfRange(radius.clone())));
    }

    #[test]
    fn the_limits_themselves_are_accepted(zeros in "0{1,20}", sign in "[+-]") {
        let edge = format!("{sign}90.{zeros}{sign}180.{zeros}");
        prop_assert!(Location::parse(&edge).is_ok(), "{}", edge);
        let (fifty, zero) = (format!("50.{zeros}"), format!("0.{zeros}"));
        prop_assert_eq!(Radius::parse(&fifty).map(|r| r.to_string()), Ok("50".to_string()));
        prop_assert_eq!(Radius::parse(&zero), Err(ParseError::RadiusOutOfRange(zero.clone())));
    }

    #[test]
    fn iamat_fields_survive_any_spacing(
        client in client_id(), loc in location_text(), time in time_text(),
        gaps in proptest::collection::vec(gap(), 4), crlf in any::<bool>(),
    ) {
        let line = format!("{}IAMAT{}{client}{}{loc}{}{time}{}", gaps[0], gaps[1], gaps[2], gaps[3], if crlf { "\r" } else { "" });
        match parse_client_line(line.as_bytes()) {
            Ok(ClientCommand::IAmAt { client: c, location, time: t }) => {
                prop_assert_eq!(c, client);
                prop_assert_eq!(location.as_str(), loc.as_str());
                prop_assert_eq!(t.as_str(), time.as_str());
            }
            other => prop_assert!(false, "{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn peer_updates_round_trip(
        u in update(),
        seq in proptest::option::of(any::<u64>()),
        seen in proptest::collection::vec("[A-Za-z]{1,8}", 0..4),
    ) {
        let message = PeerMessage::Update { seq, update: u.into(), seen };
        let line = message.to_string();
        prop_assert_eq!(PeerMessage::parse(line.as_bytes()), Ok(message));
    }

    #[test]
    fn skew_round_trips_and_has_nine_digits(nanos in any::<i64>()) {
        let text = Skew(nanos as i128).to_string();
        prop_assert!(text.starts_with(['+', '-']) && !text[1..].starts_with(['+', '-']));
        prop_assert_eq!(text.split('.').nth(1).map(str::len), Some(9));
        prop_assert_eq!(Skew::parse(&text), Ok(Skew(nanos as i128)));
    }

    #[test]
    fn skew_is_exact_integer_nanoseconds(secs in 0u64..4_000_000_000, frac in "[0-9]{9}", received in any::<i64>()) {
        let time = ClientTime::parse(&format!("{secs}.{frac}")).unwrap();
        let expected = received as i128 - (secs as i128 * 1_000_000_000 + frac.parse::<i128>().unwrap());
        prop_assert_eq!(Skew::between(received as i128, &time), Skew(expected));
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_client_line(&bytes);
        let _ = PeerMessage::parse(&bytes);
        let _ = PeerMessage::is_peer_line(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_near_misses(
        verb in prop_oneof![Just("IAMAT"), Just("WHATSAT"), Just("HERD AT"), Just("HERD HELLO")],
        args in proptest::collection::vec("[-+0-9.eE a-z]{0,12}", 0..6),
    ) {
        let line = format!("{verb} {}", args.join(" "));
        let _ = parse_client_line(line.as_bytes());
        let _ = PeerMessage::parse(line.as_bytes());
    }
}
