//! Short labels on arrows, so that a picture without hovering still says
//! which message is which: the client and client time of a flooded update
//! (`kiwi 0.500s`, the time as simulated seconds since the run's start),
//! `dump n=3` at the end of a catch-up dump that carried anything, the handshake's steps, acks,
//! and the first words of client lines and replies. A label is drawn at
//! the middle of its arrow when the arrow is wide enough for it and it
//! covers no label drawn before it.

use std::collections::BTreeMap;

use herd::protocol::PeerMessage;

use crate::observe::flow::{Kind, Message};
use crate::observe::EPOCH_SECS;

/// Width of a label character at the labels' font size, in px.
const CHAR_PX: f64 = 5.8;
const HEIGHT_PX: f64 = 10.0;
/// Labels are looked up by bands of this height.
const BAND_PX: f64 = 16.0;
const MAX_CHARS: usize = 18;

/// The label of a message, if it gets one.
pub(super) fn text(m: &Message) -> Option<String> {
    let label = match (&m.wire, m.kind) {
        (_, Kind::Heartbeat) => return None,
        (Some(PeerMessage::Update { update, .. }), _) => {
            format!(
                "{} {}",
                short_client(&update.client),
                sim_time(&update.time.to_string())
            )
        }
        // Empty dumps (every link's start) would only crowd the picture.
        (Some(PeerMessage::Synced { count: 0 }) | Some(PeerMessage::Dump { .. }), _) => return None,
        (Some(PeerMessage::Synced { count }), _) => format!("dump n={count}"),
        (Some(PeerMessage::Hello { .. }), _) => "hello".to_string(),
        (Some(PeerMessage::Challenge { .. }), _) => "challenge".to_string(),
        (Some(PeerMessage::Proof { .. }), _) => "proof".to_string(),
        (Some(PeerMessage::Ack { seqs }), _) => {
            let seqs: Vec<String> = seqs.iter().map(u64::to_string).collect();
            format!("ack {}", seqs.join(","))
        }
        (Some(other), _) => other.to_string().split_whitespace().skip(1).take(1).collect(),
        (None, _) => words(&m.text, 2),
    };
    Some(cut(&label))
}

fn words(text: &str, n: usize) -> String {
    text.split_whitespace().take(n).collect::<Vec<_>>().join(" ")
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(MAX_CHARS - 1).collect();
    format!("{kept}…")
}

/// `kiwi.cs.ucla.edu` as `kiwi`.
fn short_client(client: &str) -> &str {
    client
        .split('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(client)
}

/// A client time as simulated seconds since the run's start (`0.500s`),
/// when it is one; the time as written otherwise.
fn sim_time(time: &str) -> String {
    let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
    match secs.parse::<u64>().ok().and_then(|s| s.checked_sub(EPOCH_SECS)) {
        Some(since) if since < 1_000_000 => {
            let ms: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
            format!("{since}.{ms}s")
        }
        _ => time.to_string(),
    }
}

/// Where labels were drawn, by band of height.
#[derive(Default)]
pub(super) struct Placed {
    bands: BTreeMap<i64, Vec<[f64; 4]>>,
}

impl Placed {
    /// Where `label` goes on the arrow from (x1, y1) to (x2, y2): the
    /// middle of its baseline, or `None` when there is no room.
    pub fn place(&mut self, label: &str, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) -> Option<(f64, f64)> {
        let w = label.chars().count() as f64 * CHAR_PX + 4.0;
        if (x2 - x1).abs() < w + 16.0 {
            return None;
        }
        let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 2.0);
        let rect = [mx - w / 2.0, my - HEIGHT_PX, mx + w / 2.0, my + 1.0];
        let band = (rect[1] / BAND_PX).floor() as i64;
        let overlaps = |r: &[f64; 4]| r[0] < rect[2] && rect[0] < r[2] && r[1] < rect[3] && rect[1] < r[3];
        let near = (band - 1..=band + 1).flat_map(|b| self.bands.get(&b).into_iter().flatten());
        if near.clone().any(overlaps) {
            return None;
        }
        self.bands.entry(band).or_default().push(rect);
        Some((mx, my))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_times_read_as_simulated_seconds() {
        assert_eq!(sim_time("1767225600.5"), "0.500s");
        assert_eq!(sim_time("1767225612.041000000"), "12.041s");
        assert_eq!(sim_time("12.5"), "12.5");
        assert_eq!(short_client("kiwi.cs.ucla.edu"), "kiwi");
    }

    #[test]
    fn labels_need_room_and_never_cover_each_other() {
        let mut placed = Placed::default();
        assert!(
            placed.place("kiwi 0.500s", (0.0, 100.0), (40.0, 110.0)).is_none(),
            "too narrow"
        );
        assert!(placed
            .place("kiwi 0.500s", (0.0, 100.0), (200.0, 110.0))
            .is_some());
        assert!(
            placed
                .place("kiwi 0.501s", (0.0, 101.0), (200.0, 111.0))
                .is_none(),
            "covers"
        );
        assert!(placed
            .place("kiwi 0.502s", (0.0, 140.0), (200.0, 150.0))
            .is_some());
    }
}
