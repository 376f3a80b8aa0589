//! What a line between two servers is, as the simulator's records type it.
//! Our herd's lines are `HERD ...` messages (docs/protocol.md). Another
//! herd's wire format is its own, but a line that carries an update
//! carries its AT line (`FLOOD Hands AT Goloman +0.1 kiwi ...`, or the AT
//! line alone), and that is recorded as the update it carries: so flood
//! costs and diagrams work for any herd. Other lines of another herd
//! (its acknowledgements, greetings) are counted, not typed.

use herd::protocol::{ClientTime, Location, PeerMessage, Skew, Update};

/// The message a line is, if it can be typed.
pub fn typed(line: &[u8]) -> Option<PeerMessage> {
    if let Ok(message) = PeerMessage::parse(line) {
        return Some(message);
    }
    carried_update(std::str::from_utf8(line).ok()?).map(PeerMessage::update)
}

/// The first `AT <origin> <skew> <client> <location> <time>` in the line's
/// fields that reads as an update.
fn carried_update(line: &str) -> Option<Update> {
    let fields: Vec<&str> = herd::protocol::fields(line).collect();
    fields.windows(6).find_map(|w| match *w {
        ["AT", origin, skew, client, location, time] => Some(Update {
            origin: origin.to_string(),
            skew: Skew::parse(skew).ok()?,
            client: client.to_string(),
            location: Location::parse(location).ok()?,
            time: ClientTime::parse(time).ok()?,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_lines_are_our_messages() {
        assert_eq!(typed(b"HERD PING"), Some(PeerMessage::Ping));
        let line = b"HERD AT 7 Hands +0.001000000 kiwi +1.0+2.0 1767225600.5";
        assert!(matches!(
            typed(line),
            Some(PeerMessage::Update { seq: Some(7), .. })
        ));
    }

    #[test]
    fn another_herd_s_lines_are_typed_by_the_update_they_carry() {
        let line = b"FLOOD Welsh AT Hands +0.001000000 kiwi +1.0+2.0 1767225600.5 hops=2";
        let Some(PeerMessage::Update { update, .. }) = typed(line) else {
            panic!("an update");
        };
        assert_eq!(
            update.to_string(),
            "AT Hands +0.001000000 kiwi +1.0+2.0 1767225600.5"
        );
        assert_eq!(typed(b"OK"), None);
        assert_eq!(typed(b"AT Hands soon kiwi +1.0+2.0 1767225600.5"), None);
    }
}
