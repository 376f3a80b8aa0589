//! The default herd over real loopback sockets: what every server answers
//! to IAMAT, how an update spreads, which update wins, catching up after a
//! restart, and that a client cannot pose as a server.

mod common;

use std::net::SocketAddr;

use std::sync::Arc;

use common::*;
use herd::config::Tuning;
use herd::places::FakePlaces;

/// Sends one IAMAT and checks the AT reply field by field: the receiving
/// server's name, a skew that is the server's receive time minus the
/// client time (to the nanosecond, within the round trip), and the client,
/// location and time echoed byte for byte.
async fn check_iamat(herd: &herd::local::LocalHerd, server: &str, client: &str, location: &str, time: &str) {
    let mut c = LineClient::connect(herd.addr(server)).await;
    let sent_at = now_nanos();
    let reply = c.ask(&format!("IAMAT {client} {location} {time}")).await;
    let answered_at = now_nanos();
    let at = parse_at(&reply);
    assert_eq!(at.server, server, "{reply}");
    assert_eq!(
        (at.client.as_str(), at.location.as_str(), at.time.as_str()),
        (client, location, time),
        "{reply}"
    );
    let received_at = time_nanos(time) + skew_nanos(&at.skew);
    assert!(
        (sent_at..=answered_at).contains(&received_at),
        "skew {} puts the receive time outside the round trip: {reply}",
        at.skew
    );
}

#[tokio::test]
async fn iamat_at_every_server_gets_its_at_line() {
    let herd = start_default_herd().await;
    let now_secs = now_nanos() / 1_000_000_000;
    let future = format!("{}.9189", now_secs + 100);
    let cases = [
        // The SPEC example: years in the past, nine fraction digits.
        (
            "Goloman",
            "kiwi.cs.ucla.edu",
            "+34.068930-118.445127",
            "1520023934.918963997".to_string(),
        ),
        // A client clock ahead of ours: the skew is negative, one `-` only.
        ("Hands", "ahead", "-33.8670522+151.1957362", future),
        ("Holiday", "whole-seconds", "+0-0", now_secs.to_string()),
        ("Welsh", "Ω-utf8-id", "-90+180", format!("{now_secs}.5")),
        (
            "Wilkes",
            "x",
            "+90.000000-180.000000",
            format!("{}.000000001", now_secs - 1),
        ),
    ];
    for (server, client, location, time) in &cases {
        check_iamat(&herd, server, client, location, time).await;
    }
    herd.shutdown().await;
}

#[tokio::test]
async fn an_update_at_hands_is_answered_by_welsh_three_hops_away() {
    let herd = start_default_herd().await;
    let mut at_hands = LineClient::connect(herd.addr("Hands")).await;
    let at_line = at_hands
        .ask(&format!(
            "IAMAT far.away +34.068930-118.445127 {}.25",
            now_nanos() / 1_000_000_000
        ))
        .await;
    assert!(at_line.starts_with("AT Hands "), "{at_line}");

    let mut at_welsh = LineClient::connect(herd.addr("Welsh")).await;
    let deadline = Deadline::after(PATIENCE, "Welsh knows far.away");
    let reply = loop {
        at_welsh.send("WHATSAT far.away 10 3\n").await;
        let first = at_welsh.line().await;
        if !first.starts_with("? ") {
            break format!("{first}\n{}", at_welsh.whatsat_reply().await);
        }
        deadline.tick().await;
    };
    // Welsh answers with Hands' own AT line: origin and skew included.
    assert_eq!(reply.lines().next(), Some(at_line.as_str()));
    herd.shutdown().await;
}

#[tokio::test]
async fn an_older_update_never_replaces_a_newer_one() {
    let herd = start_default_herd().await;
    let base = now_nanos() / 1_000_000_000;
    let (older, newer) = (format!("{base}.1"), format!("{base}.2"));

    // Newer first, everywhere; then the older one at the far end.
    let mut hands = LineClient::connect(herd.addr("Hands")).await;
    hands.ask(&format!("IAMAT settled +1+1 {newer}")).await;
    wait_until(PATIENCE, "settled reaches every server", || {
        held_times(&herd, "settled")
            .iter()
            .all(|t| t.as_deref() == Some(newer.as_str()))
    })
    .await;
    let mut welsh = LineClient::connect(herd.addr("Welsh")).await;
    let reply = welsh.ask(&format!("IAMAT settled +2+2 {older}")).await;
    assert!(
        reply.starts_with("AT Welsh "),
        "an older IAMAT is still acknowledged: {reply}"
    );

    // Both at once from opposite ends, so they cross inside the herd.
    hands.send(format!("IAMAT raced +1+1 {newer}\n")).await;
    welsh.send(format!("IAMAT raced +2+2 {older}\n")).await;
    hands.line().await;
    welsh.line().await;

    flood_marker(&herd, "Welsh", "quiet-welsh").await;
    flood_marker(&herd, "Hands", "quiet-hands").await;
    for client in ["settled", "raced"] {
        assert_eq!(
            held_times(&herd, client),
            vec![Some(newer.clone()); 5],
            "{client}"
        );
    }
    // And clients see it: WHATSAT at Welsh names Hands' newer update.
    welsh.send("WHATSAT raced 1 1\n").await;
    let at = parse_at(&welsh.line().await);
    assert_eq!(
        (at.server.as_str(), at.location.as_str(), at.time.as_str()),
        ("Hands", "+1+1", newer.as_str())
    );
    herd.shutdown().await;
}

#[tokio::test]
async fn equal_client_times_resolve_the_same_way_everywhere() {
    let herd = start_default_herd().await;
    let time = format!("{}.5", now_nanos() / 1_000_000_000);
    let mut hands = LineClient::connect(herd.addr("Hands")).await;
    let mut welsh = LineClient::connect(herd.addr("Welsh")).await;
    hands.send(format!("IAMAT tied +1+1 {time}\n")).await;
    welsh.send(format!("IAMAT tied +2+2 {time}\n")).await;
    hands.line().await;
    welsh.line().await;
    flood_marker(&herd, "Welsh", "quiet-welsh").await;
    flood_marker(&herd, "Hands", "quiet-hands").await;
    let held: Vec<String> = DEFAULT_SERVERS
        .iter()
        .map(|s| herd.state(s).get("tied").unwrap().at_line())
        .collect();
    assert!(held.iter().all(|h| h == &held[0]), "servers disagree: {held:#?}");
    herd.shutdown().await;
}

#[tokio::test]
async fn a_restarted_server_catches_up_on_what_it_missed() {
    let mut herd = start_default_herd().await;
    let secs = now_nanos() / 1_000_000_000;
    let mut goloman = LineClient::connect(herd.addr("Goloman")).await;
    goloman.ask(&format!("IAMAT before +1+1 {secs}")).await;
    // Hands' own client: after the restart Hands must learn it back.
    let mut hands = LineClient::connect(herd.addr("Hands")).await;
    hands.ask(&format!("IAMAT own +3+3 {secs}")).await;
    wait_until(PATIENCE, "before and own reach every server", || {
        ["before", "own"]
            .iter()
            .all(|c| held_times(&herd, c).iter().all(Option::is_some))
    })
    .await;

    herd.stop("Hands").await.expect("Hands stops cleanly");
    let mut welsh = LineClient::connect(herd.addr("Welsh")).await;
    let mut missed = Vec::new();
    for i in 0..10 {
        let client = format!("missed-{i}");
        welsh.ask(&format!("IAMAT {client} +2+2 {secs}.{i}")).await;
        missed.push(client);
    }
    goloman.ask(&format!("IAMAT before +1.5+1.5 {secs}.7")).await;

    herd.restart("Hands").await.expect("Hands restarts");
    let mut expected: Vec<(String, String)> = missed
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), format!("{secs}.{i}")))
        .collect();
    expected.push(("before".into(), format!("{secs}.7")));
    expected.push(("own".into(), secs.to_string()));
    wait_until(PATIENCE, "the restarted Hands holds every client", || {
        let state = herd.state("Hands");
        expected
            .iter()
            .all(|(c, t)| state.get(c).is_some_and(|u| u.time.as_str() == t))
    })
    .await;

    // Links work both ways again: news from the restarted Hands reaches Welsh.
    let mut hands = LineClient::connect(herd.addr("Hands")).await;
    hands.ask(&format!("IAMAT after +4+4 {secs}")).await;
    wait_until(PATIENCE, "after reaches Welsh", || {
        herd.state("Welsh").get("after").is_some()
    })
    .await;
    herd.shutdown().await;
}

/// A neighbour that falls behind by more than `link_queue` updates has its
/// feed cut; it reconnects and catches up, so nothing is lost.
#[tokio::test]
async fn a_burst_larger_than_the_link_queues_still_reaches_everyone() {
    let herd = start(
        &default_herd(Tuning {
            link_queue: 2,
            ..fast_tuning()
        }),
        Arc::new(FakePlaces),
    )
    .await;
    let mut goloman = LineClient::connect(herd.addr("Goloman")).await;
    let secs = now_nanos() / 1_000_000_000;
    let burst: String = (0..300)
        .map(|i| format!("IAMAT burst-{i} +1+1 {secs}.{i}\n"))
        .collect();
    goloman.send(burst).await;
    for _ in 0..300 {
        goloman.line().await;
    }
    wait_until(PATIENCE, "every burst update reaches every server", || {
        DEFAULT_SERVERS
            .iter()
            .all(|s| herd.state(s).snapshot().len() == 300)
    })
    .await;
    herd.shutdown().await;
}

#[tokio::test]
async fn a_client_cannot_speak_for_a_server() {
    let herd = start_default_herd().await;
    let nonce = "0123456789abcdef0123456789abcdef";
    let forged = [
        "HERD AT - Goloman +0.000000000 evil +1+1 9999999999".to_string(),
        // On the client port no HELLO opens anything, a neighbour's included.
        format!("HERD HELLO Hands {nonce}"),
        format!("HERD HELLO Welsh {nonce}"),
        "HERD HELLO X".to_string(),
        "HERD SYNCED 1".to_string(),
        "HERD PING".to_string(),
    ];
    for line in &forged {
        let mut c = LineClient::connect(herd.addr("Goloman")).await;
        assert_eq!(c.ask(line).await, format!("? {line}"));
        // The connection stays open and stays a client's.
        assert_eq!(c.ask(line).await, format!("? {line}"));
        assert_eq!(c.ask("WHATSAT evil 10 5").await, "? WHATSAT evil 10 5");
    }
    // The client port only says where links go...
    let mut c = LineClient::connect(herd.addr("Goloman")).await;
    let answer = c.ask("HERD LINKPORT?").await;
    let port: u16 = answer
        .strip_prefix("HERD LINKPORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"));
    assert_ne!(port, herd.addr("Goloman").port());
    // ...and posing there as a real neighbour (this herd has no secret)
    // opens that neighbour's feed, which only ever publishes: what arrives
    // on it is not merged.
    let mut posing = LineClient::connect(SocketAddr::from(([127, 0, 0, 1], port))).await;
    posing.send(format!("HERD HELLO Hands {nonce}\n")).await;
    let challenge = posing.line().await;
    assert!(challenge.starts_with("HERD CHALLENGE Goloman "), "{challenge}");
    posing
        .send("HERD PROOF -\nHERD AT - Goloman +0.000000000 evil +1+1 9999999999\n")
        .await;
    posing.until(b"HERD SYNCED").await;

    flood_marker(&herd, "Goloman", "quiet").await;
    for server in DEFAULT_SERVERS {
        assert!(
            herd.state(server).get("evil").is_none(),
            "{server} holds the forged update"
        );
        let mut c = LineClient::connect(herd.addr(server)).await;
        assert_eq!(
            c.ask("WHATSAT evil 10 5").await,
            "? WHATSAT evil 10 5",
            "{server}"
        );
    }
    herd.shutdown().await;
}
