//! A server's log lines through the log's public API: the documented line
//! for every kind of event, escaping that no client text can get past, and
//! levels. Rotation and flushing are in log_writing.rs.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::log_lines::{self, parse};
use common::procs::scratch;
use common::FixedClock;
use herd::config::LogSettings;
use herd::log::{ServerLog, Threshold};
use herd::observe::{Event, Level, Role, Source};
use herd::protocol::{ClientTime, Location, PeerMessage, Skew, Update};
use proptest::prelude::*;

/// 2018-03-02T20:52:14.918963997Z
const NOW: i128 = 1_520_023_934_918_963_997;

fn open(dir: &Path, settings: &LogSettings, threshold: Threshold) -> ServerLog {
    ServerLog::open(dir, "S", settings, threshold, Arc::new(FixedClock(NOW))).expect("open log")
}

/// Reports `events` as the server would (asking `enabled` first), closes
/// the log and returns its lines.
fn logged(threshold: Threshold, events: &[Event<'_>]) -> Vec<String> {
    let dir = scratch("log-events");
    let log = open(&dir, &LogSettings::default(), threshold);
    let observer = log.observer();
    for event in events {
        if observer.enabled(event.level()) {
            observer.event(event);
        }
    }
    log.close();
    log_lines::lines(&dir, "S")
}

fn update(client: &str, seconds: &str) -> Update {
    Update {
        origin: "Hands".into(),
        skew: Skew(-99_937_523_000),
        client: client.into(),
        location: Location::parse("+34.068930-118.445127").unwrap(),
        time: ClientTime::parse(seconds).unwrap(),
    }
}

#[test]
fn every_kind_of_event_has_its_documented_line() {
    let new = update("kiwi", "1520023934.918963997");
    let old = update("kiwi", "1520023000");
    let flood = PeerMessage::Update {
        seq: Some(12),
        update: new.clone().into(),
        seen: vec!["Hands".into(), "Welsh".into()],
    };
    let events = [
        Event::Listening {
            role: Role::Client,
            addr: "127.0.0.1:12001",
        },
        Event::Opened {
            conn: 7,
            role: Role::Client,
            peer: "127.0.0.1:50312",
        },
        Event::ClientLine {
            conn: 7,
            line: b"IAMAT kiwi +34.068930-118.445127 1520023934.918963997",
        },
        Event::Reply {
            conn: 7,
            bytes: b"AT Hands -99.937523000 kiwi +34.068930-118.445127 1520023934.918963997\n",
        },
        Event::Invalid {
            conn: 7,
            error: &"unknown command \"HELLO\"",
        },
        Event::Closed {
            conn: 7,
            why: "closed by client",
        },
        Event::PeerSend {
            conn: 3,
            neighbour: "Welsh",
            message: &flood,
        },
        Event::PeerRecv {
            conn: 4,
            neighbour: "Goloman",
            message: &PeerMessage::Synced { count: 12 },
        },
        Event::PeerInvalid {
            conn: 4,
            neighbour: "Goloman",
            line: b"HERD NOPE",
            error: &"HERD NOPE",
        },
        Event::Stored {
            update: &new,
            replaced: Some(&old),
            source: Source::Neighbour("Goloman"),
        },
        Event::Evicted { update: &old },
        Event::LinkUp {
            conn: 4,
            neighbour: "Goloman",
            again: true,
        },
        Event::LinkDown {
            conn: 4,
            neighbour: "Goloman",
            why: "no heartbeat for 3500 ms",
        },
        Event::LinkRetry {
            neighbour: "Goloman",
            why: "connection refused",
            delay_ms: 200,
        },
        Event::FeedUp {
            conn: 3,
            neighbour: "Welsh",
        },
        Event::FeedDown {
            conn: 3,
            neighbour: "Welsh",
            why: "closed by neighbour",
        },
        Event::Refused {
            conn: 9,
            claimed: "Wel sh",
            why: "bad proof",
        },
        Event::AckGaveUp {
            neighbour: "Welsh",
            count: 2,
        },
        Event::Places {
            conn: 7,
            status: "OK",
            radius_m: "10000",
            bound: 5,
        },
        Event::Warning {
            message: "no HERD_SECRET: trusting loopback",
        },
        Event::Shutdown,
    ];
    let t = "2018-03-02T20:52:14.918963Z";
    let at = "AT Hands -99.937523000 kiwi +34.068930-118.445127 1520023934.918963997";
    let expected = [
        format!("{t}  INFO listening role=client addr=127.0.0.1:12001"),
        format!("{t}  INFO open conn=7 peer=127.0.0.1:50312 role=client"),
        format!(r#"{t}  INFO recv conn=7 line="IAMAT kiwi +34.068930-118.445127 1520023934.918963997""#),
        format!(r#"{t}  INFO send conn=7 line="{at}""#),
        format!(r#"{t}  INFO invalid conn=7 error="unknown command \"HELLO\"""#),
        format!(r#"{t}  INFO close conn=7 why="closed by client""#),
        format!(
            r#"{t}  INFO send conn=3 peer=Welsh line="HERD AT 12 {} Hands,Welsh""#,
            &at[3..]
        ),
        format!(r#"{t}  INFO recv conn=4 peer=Goloman line="HERD SYNCED 12""#),
        format!(r#"{t}  INFO invalid conn=4 peer=Goloman line="HERD NOPE" error="HERD NOPE""#),
        format!(
            r#"{t} DEBUG stored peer=Goloman update="{at}" replaced="AT Hands -99.937523000 kiwi +34.068930-118.445127 1520023000""#
        ),
        format!(r#"{t}  INFO evicted update="AT Hands -99.937523000 kiwi +34.068930-118.445127 1520023000""#),
        format!("{t}  INFO link_up conn=4 peer=Goloman again=true"),
        format!(r#"{t}  INFO link_down conn=4 peer=Goloman why="no heartbeat for 3500 ms""#),
        format!(r#"{t}  INFO link_retry peer=Goloman why="connection refused" delay_ms=200"#),
        format!("{t}  INFO feed_up conn=3 peer=Welsh"),
        format!(r#"{t}  INFO feed_down conn=3 peer=Welsh why="closed by neighbour""#),
        format!(r#"{t}  WARN refused conn=9 claimed="Wel sh" why="bad proof""#),
        format!("{t}  INFO ack_gave_up peer=Welsh count=2"),
        format!(r#"{t}  INFO places conn=7 status="OK" radius_m=10000 bound=5"#),
        format!(r#"{t}  WARN warning message="no HERD_SECRET: trusting loopback""#),
        format!("{t}  INFO shutdown"),
    ];
    let lines = logged(Threshold::DEBUG, &events);
    assert_eq!(lines, expected);
    for (line, event) in lines.iter().zip(&events) {
        assert_eq!(parse(line).kind, event.kind(), "{line}");
    }
}

#[test]
fn inter_server_messages_are_logged_exactly_as_sent() {
    let odd = Update {
        client: "ki\"wi\\\u{fc}".into(),
        skew: Skew(263_873_386),
        ..update("x", "7")
    };
    let nonce = "0123456789abcdef0123456789abcdef".to_string();
    let messages = [
        PeerMessage::LinkPortQuery,
        PeerMessage::LinkPort { port: 40_001 },
        PeerMessage::Hello {
            server: "Hands".into(),
            nonce: nonce.clone(),
        },
        PeerMessage::Challenge {
            server: "Hands".into(),
            nonce,
            mac: Some("ab".repeat(32)),
        },
        PeerMessage::Proof { mac: None },
        PeerMessage::update(odd.clone()),
        PeerMessage::Update {
            seq: Some(u64::MAX),
            update: odd.into(),
            seen: vec!["A".into(), "B".into(), "C".into()],
        },
        PeerMessage::Ack { seqs: vec![1, 2, 3] },
        PeerMessage::Synced { count: u64::MAX },
        PeerMessage::Ping,
        PeerMessage::Resync,
    ];
    let events: Vec<Event<'_>> = messages
        .iter()
        .map(|message| Event::PeerSend {
            conn: 1,
            neighbour: "Hands",
            message,
        })
        .collect();
    let lines = logged(Threshold::DEBUG, &events);
    assert_eq!(lines.len(), messages.len());
    for (line, message) in lines.iter().zip(&messages) {
        assert_eq!(
            parse(line).get("line"),
            Some(message.to_string().as_bytes()),
            "{line}"
        );
    }
}

/// Whatever a client sends, its event is one line, with the fields of its
/// kind and no other, and the bytes can be read back exactly.
fn assert_unforgeable(lines: &[&[u8]]) {
    let events: Vec<Event<'_>> = lines
        .iter()
        .map(|line| Event::ClientLine { conn: 5, line })
        .collect();
    let logged = logged(Threshold::INFO, &events);
    assert_eq!(logged.len(), lines.len(), "{logged:#?}");
    for (text, sent) in logged.iter().zip(lines) {
        let line = parse(text);
        assert_eq!(
            (line.kind.as_str(), line.keys()),
            ("recv", vec!["conn", "line"]),
            "{text}"
        );
        assert_eq!(line.get("line"), Some(*sent), "{text}");
    }
}

#[test]
fn a_client_cannot_forge_a_line_or_a_field() {
    assert_unforgeable(&[
        b"IAMAT a +1+1 1\n2018-03-02T20:52:14.918963Z  INFO recv conn=1 line=\"IAMAT forged\"",
        b"x\" conn=99 line=\"spoofed",
        b"\\\" why=\"\\",
        b"\r\x0b\x0c\t\x00\x1b[2J\x7f\xff\xfe\xc3\xbc \xe2\x80\xa8",
        b"",
    ]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_bytes_are_one_line_read_back_exactly(
        lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..40)
    ) {
        let lines: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        assert_unforgeable(&lines);
    }
}

#[test]
fn heartbeats_and_store_changes_only_at_debug() {
    let stored = update("kiwi", "1");
    let events = [
        Event::PeerSend {
            conn: 1,
            neighbour: "Hands",
            message: &PeerMessage::Ping,
        },
        Event::PeerRecv {
            conn: 2,
            neighbour: "Hands",
            message: &PeerMessage::Ping,
        },
        Event::Stored {
            update: &stored,
            replaced: None,
            source: Source::Client(3),
        },
        Event::ClientLine {
            conn: 3,
            line: b"IAMAT kiwi +34.068930-118.445127 1",
        },
    ];
    let kinds = |lines: Vec<String>| -> Vec<String> { lines.iter().map(|l| parse(l).kind).collect() };
    assert_eq!(kinds(logged(Threshold::INFO, &events)), ["recv"]);
    assert_eq!(
        kinds(logged(Threshold::DEBUG, &events)),
        ["send", "recv", "stored", "recv"]
    );
    assert_eq!(kinds(logged(Threshold::OFF, &events)), Vec::<String>::new());

    // Callers can skip building events nobody reads, and an event passed
    // on anyway is still filtered.
    let dir = scratch("log-enabled");
    let log = open(&dir, &LogSettings::default(), Threshold::INFO);
    let observer = log.observer();
    assert!(!observer.enabled(Level::Debug));
    assert!(observer.enabled(Level::Info) && observer.enabled(Level::Warn));
    observer.event(&events[0]);
    log.close();
    assert_eq!(log_lines::lines(&dir, "S"), Vec::<String>::new());
}

#[test]
fn the_documented_example_lines_read_as_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md")).unwrap();
    let section = doc.split("## Log files").nth(1).expect("a Log files section");
    let example = section.split("```").nth(1).expect("an example block");
    let lines: Vec<_> = example.lines().skip(1).map(parse).collect();
    assert_eq!(lines.len(), 6);
    let forged = &lines[4];
    assert_eq!(
        (forged.kind.as_str(), forged.keys()),
        ("recv", vec!["conn", "line"])
    );
    assert_eq!(
        forged.get("line"),
        Some(&b"\x1b[31mHELLO\" conn=1 line=\"forged"[..])
    );
}
