//! Abusive clients get a bounded, documented answer and cannot hurt the
//! others: over-long lines, unfinished lines, non-UTF-8 bytes, idle
//! connections, and more connections than the server serves at once.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use herd::config::Tuning;
use herd::local::LocalHerd;
use herd::places::FakePlaces;
use tokio::io::AsyncWriteExt;

const MAX_LINE: usize = 64;

async fn solo(tuning: Tuning) -> LocalHerd {
    start(&solo_herd(tuning), Arc::new(FakePlaces)).await
}

fn tuning() -> Tuning {
    Tuning {
        max_line_bytes: MAX_LINE,
        ..fast_tuning()
    }
}

#[tokio::test]
async fn a_line_of_exactly_the_limit_is_still_a_line() {
    let herd = solo(tuning()).await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    let line = "X".repeat(MAX_LINE);
    assert_eq!(c.ask(&line).await, format!("? {line}"));
    let client = "c".repeat(MAX_LINE - "IAMAT  +1+1 7".len());
    assert!(c
        .ask(&format!("IAMAT {client} +1+1 7"))
        .await
        .ends_with(&format!(" {client} +1+1 7")));
    herd.shutdown().await;
}

#[tokio::test]
async fn an_over_long_line_gets_its_prefix_refused_then_the_connection_closes() {
    let herd = solo(tuning()).await;
    let line = format!("IAMAT {} +1+1 7", "L".repeat(MAX_LINE));
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    c.send(format!("{line}\nIAMAT after +1+1 7\n")).await;
    let mut expected = b"? ".to_vec();
    expected.extend_from_slice(&line.as_bytes()[..MAX_LINE]);
    expected.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(&c.rest_until_closed().await),
        String::from_utf8_lossy(&expected)
    );
    herd.shutdown().await;
}

#[tokio::test]
async fn an_endless_line_is_cut_off_without_waiting_for_its_end() {
    let herd = solo(tuning()).await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    // Never a newline: the server must not buffer it all, nor wait for one.
    c.send("A".repeat(MAX_LINE + 2)).await;
    let mut expected = b"? ".to_vec();
    expected.extend_from_slice("A".repeat(MAX_LINE).as_bytes());
    expected.push(b'\n');
    assert_eq!(
        String::from_utf8_lossy(&c.rest_until_closed().await),
        String::from_utf8_lossy(&expected)
    );
    herd.shutdown().await;
}

/// A line far longer than the limit, sent in one go, as a flood would be.
/// The refusal must still arrive before the close.
#[tokio::test]
async fn a_flood_of_bytes_still_gets_its_refusal() {
    let herd = solo(tuning()).await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    c.send("B".repeat(64 * 1024)).await;
    let mut expected = b"? ".to_vec();
    expected.extend_from_slice("B".repeat(MAX_LINE).as_bytes());
    expected.push(b'\n');
    let got = c.line_bytes().await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected[..expected.len() - 1])
    );
    c.expect_closed().await;
    herd.shutdown().await;
}

#[tokio::test]
async fn non_utf8_bytes_are_refused_verbatim_and_the_connection_stays_open() {
    let herd = solo(tuning()).await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    for line in [
        &b"IAMAT \xff\xfe +1+1 7"[..],
        b"\xc3\x28",
        b"WHATSAT caf\xe9 10 5",
        b"\x00\x01\x1b[2J",
    ] {
        let mut sent = line.to_vec();
        sent.push(b'\n');
        c.send(&sent).await;
        let mut expected = b"? ".to_vec();
        expected.extend_from_slice(line);
        assert_eq!(c.line_bytes().await, expected, "{}", line.escape_ascii());
    }
    assert!(c.ask("IAMAT after +1+1 7").await.ends_with(" after +1+1 7"));
    herd.shutdown().await;
}

#[tokio::test]
async fn a_line_never_finished_is_closed_after_the_line_timeout() {
    let line_timeout = Duration::from_millis(300);
    let herd = solo(Tuning {
        line_timeout_ms: line_timeout.as_millis() as u64,
        idle_timeout_ms: 60_000,
        ..tuning()
    })
    .await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    let started = Instant::now();
    c.send("IAMAT half").await;
    assert_eq!(c.rest_until_closed().await, b"", "closed without a reply");
    assert!(
        started.elapsed() >= line_timeout,
        "closed after {:?}, before the line timeout",
        started.elapsed()
    );
    herd.shutdown().await;
}

/// A byte now and then keeps the idle timer happy, but not the line timer:
/// a line must be finished within `line_timeout_ms` of its first byte.
#[tokio::test]
async fn a_line_dribbled_a_byte_at_a_time_is_closed_too() {
    let line_timeout = Duration::from_millis(400);
    let herd = solo(Tuning {
        line_timeout_ms: line_timeout.as_millis() as u64,
        idle_timeout_ms: 60_000,
        ..tuning()
    })
    .await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    let started = Instant::now();
    let mut pace = tokio::time::interval(Duration::from_millis(40));
    let mut sent = 0;
    let mut probe = [0u8; 16];
    let closed_after = loop {
        pace.tick().await;
        assert!(started.elapsed() < PATIENCE, "still open after {PATIENCE:?}");
        // The server closing shows as end of stream, or as a failed write.
        match c.stream.try_read(&mut probe) {
            Ok(0) => break started.elapsed(),
            Ok(n) => panic!("unexpected reply {:?}", probe[..n].escape_ascii().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break started.elapsed(),
        }
        if sent < MAX_LINE - 1 {
            if tokio::io::AsyncWriteExt::write_all(&mut c.stream, b"x")
                .await
                .is_err()
            {
                break started.elapsed();
            }
            sent += 1;
        }
    };
    assert!(closed_after >= line_timeout, "closed after {closed_after:?}");
    herd.shutdown().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let herd = solo(Tuning {
        idle_timeout_ms: idle.as_millis() as u64,
        ..tuning()
    })
    .await;
    let mut c = LineClient::connect(herd.addr("Solo")).await;
    // The server cannot have received the last byte before it was sent.
    let last_byte = Instant::now();
    c.ask("IAMAT idle +1+1 7").await;
    assert_eq!(c.rest_until_closed().await, b"");
    assert!(
        last_byte.elapsed() >= idle,
        "closed after {:?}",
        last_byte.elapsed()
    );
    herd.shutdown().await;
}

/// With `max_connections` taken by idle clients, a newcomer is served at
/// once, and the client idle longest is closed to make room (it holds no
/// slot an active one needs); the others keep being served.
#[tokio::test]
async fn at_the_limit_the_longest_idle_client_gives_way() {
    const LIMIT: usize = 8;
    let herd = solo(Tuning {
        max_connections: LIMIT,
        ..tuning()
    })
    .await;
    let addr = herd.addr("Solo");
    // Each answered once, so each holds a slot for certain; then idle.
    let mut held = Vec::new();
    for i in 0..LIMIT {
        let mut c = LineClient::connect(addr).await;
        assert!(c
            .ask(&format!("IAMAT slot{i} +1+1 7"))
            .await
            .starts_with("AT Solo "));
        held.push(c);
    }
    // The first is now idle longest; the last is used again.
    let last = held.last_mut().unwrap();
    assert!(last.ask("IAMAT slot7 +2+2 8").await.ends_with(" slot7 +2+2 8"));

    let mut newcomer = LineClient::connect(addr).await;
    assert!(newcomer
        .ask("IAMAT newcomer +1+1 7")
        .await
        .ends_with(" newcomer +1+1 7"));
    held[0].expect_closed().await;
    for c in &mut held[1..] {
        assert!(c.ask("IAMAT again +3+3 9").await.ends_with(" again +3+3 9"));
    }
    herd.shutdown().await;
}

/// A client that sends and never reads cannot hold its slot: once its
/// replies fill the socket, the server gives up on it within
/// `line_timeout_ms` and closes it. Meanwhile everyone else is served.
#[tokio::test]
async fn a_client_that_never_reads_its_replies_is_dropped() {
    let herd = solo(Tuning {
        max_connections: 2,
        line_timeout_ms: 300,
        ..fast_tuning()
    })
    .await;
    let addr = herd.addr("Solo");
    let mut other = LineClient::connect(addr).await;
    let at = other.ask(&format!("IAMAT here {} 7", busy_location(20))).await;
    assert!(at.starts_with("AT Solo "), "{at}");

    // Tens of megabytes of replies asked for (far more than socket
    // buffers hold), none read.
    let mut hog = LineClient::connect(addr).await;
    let flood = "WHATSAT here 10 20\n".repeat(5_000);
    // Keeps asking, unread, until the server has closed the connection.
    let writer = tokio::spawn(async move {
        let mut next: &[u8] = flood.as_bytes();
        loop {
            if let Err(e) = hog.stream.write_all(next).await {
                return e;
            }
            next = b"WHATSAT here 10 20\n";
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    // The client that was there all along is not held up.
    assert!(other.ask("IAMAT other +1+1 8").await.ends_with(" other +1+1 8"));
    // The server closes the hog, so its writing fails.
    let written = tokio::time::timeout(PATIENCE, writer)
        .await
        .expect("the hog is dropped in time")
        .expect("the writer task ends");
    let error = written;
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "{error}"
    );
    herd.shutdown().await;
}

/// Idle clients filling `max_connections` must not keep a neighbour from
/// re-establishing its link: the herd would stop converging, silently,
/// until an idle client times out (five minutes by default).
#[tokio::test]
async fn idle_clients_cannot_lock_a_neighbour_out() {
    let tuning = Tuning {
        max_connections: 3,
        ..fast_tuning()
    };
    let mut pair = herd::config::HerdConfig::from_toml(
        "links = [[\"A\", \"B\"]]\n[[server]]\nname = \"A\"\nport = 0\n[[server]]\nname = \"B\"\nport = 0\n",
        "pair",
    )
    .unwrap();
    pair.tuning = tuning;
    let mut herd = start(&pair, Arc::new(FakePlaces)).await;
    let mut at_a = LineClient::connect(herd.addr("A")).await;
    at_a.ask("IAMAT before +1+1 7").await;
    wait_until(PATIENCE, "B learns what A was told", || {
        herd.state("B").get("before").is_some()
    })
    .await;

    // B's link holds one of A's slots, at_a another; one idle client more fills A.
    let mut idle = Vec::new();
    let mut c = LineClient::connect(herd.addr("A")).await;
    c.ask("IAMAT idle0 +1+1 7").await;
    idle.push(c);
    // B goes away, freeing its slot, which another idle client takes.
    herd.stop("B").await.unwrap();
    let mut c = LineClient::connect(herd.addr("A")).await;
    c.ask("IAMAT idle1 +1+1 7").await;
    idle.push(c);

    herd.restart("B").await.unwrap();
    at_a.ask("IAMAT after +2+2 8").await;
    wait_until(PATIENCE, "the restarted B learns what A holds", || {
        let b = herd.state("B");
        b.get("before").is_some() && b.get("after").is_some()
    })
    .await;
    herd.shutdown().await;
}
