//! SPEC §2 over a real socket: how lines are framed, how replies are
//! shaped, and the `? <line>` answer to everything that is not a valid
//! command.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use herd::local::LocalHerd;
use herd::places::{fake, FakePlaces, NearbyRequest};
use herd::protocol::{Location, Radius};
use tokio::io::AsyncReadExt;

async fn solo() -> LocalHerd {
    start(&solo_herd(fast_tuning()), Arc::new(FakePlaces)).await
}

async fn connect(herd: &LocalHerd) -> LineClient {
    LineClient::connect(herd.addr("Solo")).await
}

/// The whole WHATSAT reply the offline fake should produce: the AT line,
/// the pretty JSON cut to `bound`, and an empty line.
fn expected_whatsat(at_line: &str, location: &str, radius_km: &str, bound: u8) -> String {
    let location = Location::parse(location).unwrap();
    let request = NearbyRequest {
        latitude: location.latitude(),
        longitude: location.longitude(),
        radius: Radius::parse(radius_km).unwrap(),
        bound,
    };
    let json = serde_json::to_string_pretty(&fake::answer(&request)).unwrap();
    format!("{at_line}\n{json}\n\n")
}

#[tokio::test]
async fn several_lines_in_one_write_are_answered_in_order() {
    let herd = solo().await;
    let loc = busy_location(5);
    let mut c = connect(&herd).await;
    c.send(format!(
        "IAMAT a {loc} 100\nWHATSAT a 10 2\nnonsense here\nIAMAT b +1+1 200\n"
    ))
    .await;
    let at_a = c.line().await;
    assert!(
        at_a.starts_with("AT Solo ") && at_a.ends_with(&format!(" a {loc} 100")),
        "{at_a}"
    );
    assert_eq!(c.whatsat_reply().await, expected_whatsat(&at_a, &loc, "10", 2));
    assert_eq!(c.line().await, "? nonsense here");
    assert!(c.line().await.ends_with(" b +1+1 200"));
    herd.shutdown().await;
}

#[tokio::test]
async fn a_line_split_across_writes_is_answered_once_complete() {
    let herd = solo().await;
    let mut c = connect(&herd).await;
    for byte in b"IAMAT split +12.5-7.25 1700000000.5" {
        c.send([*byte]).await;
    }
    // Nothing may be answered before the line ends...
    c.expect_silence(Duration::from_millis(100)).await;
    c.send("\n").await;
    // ...and it is answered as soon as it does, without waiting for a close.
    assert!(c.line().await.ends_with(" split +12.5-7.25 1700000000.5"));
    herd.shutdown().await;
}

#[tokio::test]
async fn crlf_endings_are_accepted_and_not_echoed() {
    let herd = solo().await;
    let mut c = connect(&herd).await;
    c.send("IAMAT crlf +1+1 7\r\nbogus line\r\n").await;
    let at = parse_at(&c.line().await);
    assert_eq!(
        (at.client.as_str(), at.location.as_str(), at.time.as_str()),
        ("crlf", "+1+1", "7")
    );
    assert_eq!(c.line().await, "? bogus line");
    herd.shutdown().await;
}

#[tokio::test]
async fn fields_may_be_separated_by_any_white_space() {
    let herd = solo().await;
    let mut c = connect(&herd).await;
    let at = parse_at(&c.ask(" \tIAMAT\x0bws  +1+1\x0c7 ").await);
    assert_eq!(
        (at.client.as_str(), at.location.as_str(), at.time.as_str()),
        ("ws", "+1+1", "7")
    );
    c.send("\tWHATSAT ws\t1   1 \n").await;
    assert!(c.whatsat_reply().await.starts_with("AT Solo "));
    herd.shutdown().await;
}

#[tokio::test]
async fn a_last_line_before_a_half_close_is_still_answered() {
    let herd = solo().await;
    let mut c = connect(&herd).await;
    c.send("IAMAT first +1+1 6\nIAMAT halfclose +1+1 7").await;
    c.half_close().await;
    let rest = String::from_utf8(c.rest_until_closed().await).unwrap();
    let lines: Vec<&str> = rest.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 2, "{rest:?}");
    for (line, (client, time)) in lines.iter().zip([("first", "6"), ("halfclose", "7")]) {
        let at = parse_at(line.strip_suffix('\n').expect("whole lines"));
        assert_eq!((at.client.as_str(), at.time.as_str()), (client, time));
    }
    herd.shutdown().await;
}

#[tokio::test]
async fn a_whatsat_reply_after_a_half_close_arrives_in_one_read() {
    let herd = solo().await;
    let loc = busy_location(20);
    let mut setup = connect(&herd).await;
    let at_line = setup.ask(&format!("IAMAT hc {loc} 1700000000")).await;

    // What a `reader.read(100000)` test client does: write, half-close,
    // read once.
    let mut c = connect(&herd).await;
    c.send("WHATSAT hc 10 20").await;
    c.half_close().await;
    let mut buf = vec![0u8; 100_000];
    let n = tokio::time::timeout(PATIENCE, c.stream.read(&mut buf))
        .await
        .expect("a reply")
        .unwrap();
    let expected = expected_whatsat(&at_line, &loc, "10", 20);
    assert!(expected.len() > 2_000, "a reply long enough to matter");
    assert_eq!(String::from_utf8_lossy(&buf[..n]), expected);
    assert_eq!(c.rest_until_closed().await, b"", "nothing after the reply");
    herd.shutdown().await;
}

#[tokio::test]
async fn whatsat_replies_are_bounded_and_end_with_an_empty_line() {
    let herd = solo().await;
    let loc = busy_location(20);
    let mut c = connect(&herd).await;
    let at_line = c.ask(&format!("IAMAT w {loc} 1700000000.000000001")).await;
    for (radius, bound) in [
        ("10", 1u8),
        ("10", 7),
        ("10", 20),
        ("50", 20),
        ("0.001", 5),
        ("10.5", 3),
    ] {
        c.send(format!("WHATSAT w {radius} {bound}\n")).await;
        let reply = c.whatsat_reply().await;
        assert_eq!(
            reply,
            expected_whatsat(&at_line, &loc, radius, bound),
            "WHATSAT w {radius} {bound}"
        );
        // The rules a client relies on, checked directly as well.
        let (first, body) = reply.split_once('\n').unwrap();
        assert_eq!(first, at_line);
        assert!(
            body.ends_with("}\n\n") && !body[..body.len() - 2].contains("\n\n"),
            "{body}"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["results"].as_array().unwrap().len() <= usize::from(bound));
    }
    // The fake has 20 places here: the bound, not the fake, cut the list.
    c.send("WHATSAT w 10 7\n").await;
    let body = c.whatsat_reply().await.split_once('\n').unwrap().1.to_string();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["results"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
    herd.shutdown().await;
}

#[tokio::test]
async fn every_invalid_line_gets_a_question_mark_and_the_connection_stays_open() {
    let herd = solo().await;
    let mut c = connect(&herd).await;
    c.ask("IAMAT known +1+1 7").await;
    let invalid = [
        "",
        "   ",
        "HELLO",
        "iamat known +1+1 7",
        "IAMAT known +1+1",
        "IAMAT known +1+1 7 extra",
        "IAMAT known 1+1 7",
        "IAMAT known +1.+1 7",
        "IAMAT known +91+1 7",
        "IAMAT known +1-180.5 7",
        "IAMAT known +1+1 7.",
        "IAMAT known +1+1 7.1234567890",
        "IAMAT known +1+1 -7",
        "IAMAT known +1+1 1e9",
        "IAMAT known +1+1 seven",
        "WHATSAT known 10",
        "WHATSAT known 10 5 extra",
        "WHATSAT known 0 5",
        "WHATSAT known 50.001 5",
        "WHATSAT known -1 5",
        "WHATSAT known ten 5",
        "WHATSAT known 10 0",
        "WHATSAT known 10 21",
        "WHATSAT known 10 1.5",
        "WHATSAT\tnobody\t10\t5",
        "AT Solo +0.000000000 known +1+1 7",
    ];
    for line in invalid {
        assert_eq!(c.ask(line).await, format!("? {line}"), "{line:?}");
    }
    // Still open and still serving.
    assert!(c.ask("IAMAT known +2+2 8").await.ends_with(" known +2+2 8"));
    herd.shutdown().await;
}
