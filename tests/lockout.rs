//! Nobody can hold a server's ports (SPEC §6, "everything is bounded"), on
//! real processes: idle clients give way to a newcomer, handshakes that
//! never finish give way to newer ones, and a neighbour that restarts while
//! both ports are kept busy gets a working link within seconds.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::clients::holds;
use common::log_lines;
use common::neighbour::{
    ask, connect, hello, lines_until_closed, link_port, read_line, Protocol, READ_PATIENCE,
};
use common::procs::{HerdProcs, Setup};
use common::{told, Deadline};
use herd::config::HerdConfig;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Client slots per server in these tests.
const SLOTS: usize = 16;
/// Holiday's handshake pool: its three neighbours, plus two.
const HANDSHAKE_SLOTS: usize = 5;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_herd"))
}

/// A client that has been answered once, and then says nothing.
async fn idle_client(port: u16, n: usize) -> BufReader<TcpStream> {
    let mut c = BufReader::new(connect(port).await.expect("connect"));
    let reply = ask(&mut c, &format!("IAMAT idle-{n} +1+1 1520023934")).await;
    assert!(reply.as_deref().is_ok_and(|r| r.starts_with("AT ")), "{reply:?}");
    c
}

async fn is_closed(c: &mut BufReader<TcpStream>) -> bool {
    matches!(lines_until_closed(c, READ_PATIENCE).await, Ok(lines) if lines.is_empty())
}

/// Nothing comes, and the connection is not closed, for a moment.
async fn still_open(c: &mut BufReader<TcpStream>) -> bool {
    let read = read_line(c, Duration::from_millis(300)).await;
    matches!(read, Err(e) if e.kind() == std::io::ErrorKind::TimedOut)
}

/// A handshake on Holiday's link port that will never finish: `HELLO`,
/// the challenge read, and no proof.
async fn unfinished_handshake(links: u16) -> BufReader<TcpStream> {
    let mut c = BufReader::new(hello(Protocol::LinkPort, links, "Welsh").await.expect("connect"));
    let challenge = read_line(&mut c, READ_PATIENCE).await.expect("a challenge");
    assert!(challenge.is_some_and(|c| c.starts_with("HERD CHALLENGE ")));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_handshakes_past_the_pool_give_way_oldest_first() {
    // Only the pool can close them: the handshake timeout is far away.
    let herd = HerdProcs::start(
        binary(),
        &HerdConfig::default_herd(),
        "handshake_timeout_ms = 60000",
    )
    .expect("the herd starts");
    let links = link_port(herd.port("Holiday")).await.expect("link port");
    let extra = 3 * HANDSHAKE_SLOTS;
    let mut handshakes = Vec::new();
    for _ in 0..HANDSHAKE_SLOTS + extra {
        handshakes.push(unfinished_handshake(links).await);
    }
    for (n, c) in handshakes.iter_mut().enumerate() {
        if n < extra {
            assert!(is_closed(c).await, "handshake {n} still holds a slot");
        } else {
            assert!(still_open(c).await, "handshake {n}, among the newest, was closed");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_neighbour_links_at_once_while_idle_clients_and_handshakes_crowd_the_ports() {
    let mut herd = HerdProcs::start(
        binary(),
        &HerdConfig::default_herd(),
        &format!("max_connections = {SLOTS}"),
    )
    .expect("the herd starts");
    let holiday = herd.port("Holiday");
    let mut idle = Vec::new();
    for n in 0..SLOTS {
        idle.push(idle_client(holiday, n).await);
    }
    // Every slot is taken: a newcomer is served, the idlest goes.
    let mut newcomer = idle_client(holiday, SLOTS).await;
    assert!(
        is_closed(&mut idle[0]).await,
        "the longest idle client still holds its slot"
    );
    assert!(still_open(&mut idle[SLOTS - 1]).await);
    assert!(ask(&mut newcomer, "WHATSAT idle-1 10 1")
        .await
        .unwrap()
        .starts_with("AT "));

    herd.kill("Welsh");
    told(holiday, "IAMAT meanwhile +2+2 1520023935").await;
    let links = link_port(holiday).await.expect("link port");
    // Newcomers keep taking client slots, and more handshakes than the
    // pool holds keep starting as soon as one is closed.
    let churn = async {
        let mut held = Vec::new();
        for n in SLOTS + 1.. {
            if let Ok(c) = connect(holiday).await {
                held.push(c);
            }
            if n % 50 == 0 {
                held.clear();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    // Dropped (so ended) with the test.
    let mut handshakes = tokio::task::JoinSet::new();
    for _ in 0..4 * HANDSHAKE_SLOTS {
        handshakes.spawn(async move {
            loop {
                if let Ok(c) = hello(Protocol::LinkPort, links, "Welsh").await {
                    let _ = lines_until_closed(&mut BufReader::new(c), Duration::from_secs(60)).await;
                }
            }
        });
    }
    let relinked = async {
        // Let the crowd settle in first.
        tokio::time::sleep(Duration::from_millis(500)).await;
        herd.restart("Welsh").expect("Welsh starts again");
        let restarted = Instant::now();
        let welsh = herd.port("Welsh");
        let deadline = Deadline::after(Duration::from_secs(5), "the restarted Welsh links with Holiday");
        while !holds(welsh, "meanwhile").await {
            deadline.tick().await;
        }
        told(welsh, "IAMAT back +3+3 1520023936").await;
        while !holds(holiday, "back").await {
            deadline.tick().await;
        }
        restarted.elapsed()
    };
    let took = tokio::select! {
        took = relinked => took,
        _ = churn => unreachable!(),
    };
    eprintln!("Welsh linked both ways {took:?} after its restart");
}

/// Clients that ask for big replies and never read them are busy for as
/// long as a reply write may block (`line_timeout_ms`, 30 s); they must
/// not keep every newcomer out meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_their_replies_cannot_keep_a_newcomer_out() {
    const HOGS: usize = 4;
    let solo = HerdConfig::from_toml("[[server]]\nname = \"Solo\"\nport = 0\n", "solo").unwrap();
    let setup = Setup::tuning(&format!("max_connections = {HOGS}"));
    let herd = HerdProcs::launch(binary(), &solo, &setup).expect("the server starts");
    let port = herd.port("Solo");
    let here = common::busy_location(20);
    told(port, &format!("IAMAT here {here} 1520023934")).await;
    // Megabytes of replies asked for on every slot, none read, and a
    // receive buffer as small as the kernel allows: a few replies fill it.
    let mut hogs = Vec::new();
    for _ in 0..HOGS {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(1).unwrap();
        let mut hog = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        hog.write_all("WHATSAT here 50 20\n".repeat(2_000).as_bytes())
            .await
            .unwrap();
        hogs.push(hog);
    }
    // Every hog has more asked than answered: once the server stops
    // sending replies, each one's reply write is stuck.
    let replies = || {
        log_lines::lines(&herd.log_dir(), "Solo")
            .iter()
            .filter(|l| l.contains(" send "))
            .count()
    };
    let deadline = Deadline::after(Duration::from_secs(20), "every hog's replies fill its buffers");
    let mut sent = replies();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = replies();
        if now == sent {
            break;
        }
        sent = now;
        deadline.tick().await;
    }
    let mut newcomer = BufReader::new(connect(port).await.unwrap());
    let reply = ask(&mut newcomer, "IAMAT newcomer +1+1 1520023935").await;
    assert!(reply.as_ref().is_ok_and(|r| r.starts_with("AT ")), "{reply:?}");
}
