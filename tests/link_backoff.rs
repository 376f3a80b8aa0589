//! A neighbour that takes a link and drops it at once is redialled on the
//! backoff schedule (each delay at least half of one that doubles), not in
//! a hot loop: both when it drops before the handshake and when it drops
//! right after completing it (a link up for less than `dead_after_ms` does
//! not reset the backoff).
//!
//! Real time on purpose: the server dials a real socket, and a paused tokio
//! clock would jump past the handshake timeout while the kernel delivers it.

use std::sync::Arc;
use std::time::Duration;

use herd::clock::SystemClock;
use herd::config::HerdConfig;
use herd::net::TokioNet;
use herd::places::FakePlaces;
use herd::server::{self, ServerEnv, ServerState};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::time::{timeout, Instant};

const BACKOFF_MIN_MS: u64 = 100;
const BACKOFF_MAX_MS: u64 = 5_000;
/// Dials are counted for this long after the first one.
const WINDOW: Duration = Duration::from_millis(2_500);

/// The most dials the schedule allows within `WINDOW`: the first, then one
/// after each delay, every delay at least half of a backoff that starts at
/// the minimum and doubles up to the maximum.
fn most_dials_allowed() -> usize {
    let (mut backoff, mut at, mut dials) = (BACKOFF_MIN_MS, 0, 1);
    loop {
        at += backoff / 2;
        if Duration::from_millis(at) > WINDOW {
            return dials;
        }
        dials += 1;
        backoff = (backoff * 2).min(BACKOFF_MAX_MS);
    }
}

/// The fake's side of a link that completes the handshake (no herd secret),
/// ends the catch-up at once, and hangs up.
async fn handshake_and_hang_up(stream: TcpStream) {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    let exchange = async {
        stream.read_line(&mut line).await?;
        assert!(line.starts_with("HERD HELLO Solo "), "{line:?}");
        let challenge = format!("HERD CHALLENGE Fake {} -\n", "0".repeat(32));
        stream.get_mut().write_all(challenge.as_bytes()).await?;
        line.clear();
        stream.read_line(&mut line).await?;
        assert_eq!(line, "HERD PROOF -\n");
        stream.get_mut().write_all(b"HERD SYNCED 0\n").await
    };
    timeout(Duration::from_secs(2), exchange)
        .await
        .expect("Solo goes through the handshake in time")
        .expect("handshake IO");
}

/// Runs `Solo`, whose only neighbour `Fake` listens at a configured link
/// port and hangs up on every link (its client port is never dialed:
/// the link port is configured); the number of dials in `WINDOW`.
async fn dials_in_window(complete_handshake: bool) -> usize {
    let fake = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let fake_port = fake.local_addr().expect("addr").port();
    let toml = format!(
        "links = [[\"Solo\", \"Fake\"]]\n\
         [[server]]\nname = \"Solo\"\nport = 0\n\
         [[server]]\nname = \"Fake\"\nport = 1\nlink_port = {fake_port}\n\
         [tuning]\nbackoff_min_ms = {BACKOFF_MIN_MS}\nbackoff_max_ms = {BACKOFF_MAX_MS}\n"
    );
    let herd = Arc::new(HerdConfig::from_toml(&toml, "link_backoff").expect("valid herd"));
    let state = ServerState::new("Solo", herd);
    let env = ServerEnv::new(TokioNet, Arc::new(SystemClock), Arc::new(FakePlaces));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stopped) = oneshot::channel::<()>();
    let solo = tokio::spawn(server::serve(state, env, listener, async {
        let _ = stopped.await;
    }));

    let mut dials = 0;
    let mut window_ends = None;
    loop {
        let deadline = window_ends.unwrap_or_else(|| Instant::now() + Duration::from_secs(5));
        let Ok(accepted) = tokio::time::timeout_at(deadline, fake.accept()).await else {
            assert!(window_ends.is_some(), "Solo never dialled its neighbour");
            break;
        };
        let (stream, _) = accepted.expect("accept");
        dials += 1;
        window_ends.get_or_insert_with(|| Instant::now() + WINDOW);
        if complete_handshake {
            handshake_and_hang_up(stream).await;
        }
    }
    let _ = stop.send(());
    solo.await.expect("Solo ran").expect("Solo stopped cleanly");
    dials
}

async fn check_schedule(complete_handshake: bool) {
    let dials = dials_in_window(complete_handshake).await;
    let most = most_dials_allowed();
    eprintln!("{dials} dials in {WINDOW:?} (the schedule allows at most {most})");
    assert!(
        dials <= most,
        "{dials} dials in {WINDOW:?}: faster than the backoff allows ({most})"
    );
    // Each delay is at most the backoff itself, so dials come by 0, 100,
    // 300, 700 and 1500 ms; four leaves room for a slow machine.
    assert!(
        dials >= 4,
        "only {dials} dials in {WINDOW:?}: Solo stopped redialling"
    );
}

#[tokio::test]
async fn a_neighbour_that_hangs_up_before_the_handshake_is_redialled_with_backoff() {
    check_schedule(false).await;
}

#[tokio::test]
async fn a_neighbour_that_hangs_up_after_the_handshake_is_redialled_with_backoff() {
    check_schedule(true).await;
}
