//! The attacks of the report, each on a fresh herd, spoken in the protocol
//! of the binary under attack: links on the client port (`HERD HELLO
//! <name>` first) before, on a link port found with `HERD LINKPORT?` now.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::clients::{client_of, holds, iamats, pipeline, tell};
use crate::harness::{
    at_lines_within, held_by_all, keep_saying, load, quiet, Figures, Herd, Watch, EVERYONE,
};
use crate::neighbour::{
    connect, hello, lines_until_closed, link_target, read_line, subscribe, Protocol, READ_PATIENCE,
};

/// How big each attack is (all settable on the command line).
pub struct Sizes {
    pub stored: usize,
    pub feeds: usize,
    pub resyncs: usize,
    pub hold: Duration,
    pub idle: usize,
    pub fake_hellos: usize,
    pub queued: usize,
    pub hello_flood: usize,
    pub fast: usize,
    pub fast_conns: usize,
    pub hoarders: usize,
    pub unread: usize,
    pub bulk: usize,
    pub long_ids: usize,
    pub long_id_bytes: usize,
    /// The longest wait for a herd to converge or a link to come back.
    pub cap: Duration,
}

fn secs(d: Option<Duration>, cap: Duration) -> String {
    d.map_or(format!("> {:.0} s", cap.as_secs_f64()), |d| {
        format!("{:.2} s", d.as_secs_f64())
    })
}

/// Whether an IAMAT was answered with an AT line.
fn answered(reply: std::io::Result<String>) -> bool {
    reply.is_ok_and(|r| r.starts_with("AT "))
}

fn row(name: &str, value: impl ToString) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// Attack 1: strangers subscribe as Hands at Goloman, never read, and ask for
/// `RESYNC` over and over.
pub async fn hello_storm(herd: &mut Herd, s: &Sizes) -> Figures {
    let goloman = herd.port("Goloman");
    let lines = iamats("held", s.stored, 0);
    let last = client_of(lines.last().expect("some clients")).to_string();
    let (held, _) = load(goloman, lines).await;
    held_by_all(herd, &EVERYONE, &last, s.cap).await;
    let mut watch = Watch::start(herd, "Goloman").await;
    let target = link_target(herd.protocol, goloman).await.expect("a link port");
    watch.probe();
    let learned = match subscribe(herd.protocol, target, "Hands").await {
        Ok(stream) => at_lines_within(stream, Duration::from_secs(1)).await,
        Err(_) => 0,
    };
    let resyncs = "HERD RESYNC\n".repeat(s.resyncs);
    let mut fakes = Vec::new();
    for _ in 0..s.feeds {
        if let Ok(mut fake) = subscribe(herd.protocol, target, "Hands").await {
            // A server may close a stranger before these are in.
            let _ = fake.write_all(resyncs.as_bytes()).await;
            fakes.push(fake);
        }
    }
    tokio::time::sleep(s.hold).await;
    drop(fakes);
    let extra = vec![
        row("clients held", held),
        row("updates a stranger read in 1 s", learned),
    ];
    watch.finish(herd, 0, extra).await
}

/// Attack 2: Welsh dies; a process binds its port and speaks for it, planting a
/// client; then the real Welsh comes back.
pub async fn squatter(herd: &mut Herd, s: &Sizes) -> Figures {
    let goloman = herd.port("Goloman");
    let mut watch = Watch::start(herd, "Holiday").await;
    herd.kill("Welsh");
    let welsh = herd.port("Welsh");
    let client = TcpListener::bind(("127.0.0.1", welsh))
        .await
        .expect("the dead server's port");
    let links = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let greeted = Arc::new(AtomicUsize::new(0));
    let squat = tokio::spawn(squat(herd.protocol, herd.secret, client, links, greeted.clone()));
    watch.probe();
    let live = ["Goloman", "Hands", "Holiday", "Wilkes"];
    let start = Instant::now();
    let (mut spread, mut spread_in) = (0, None);
    while start.elapsed() < s.hold {
        if spread_in.is_none() {
            spread = 0;
            for server in live {
                spread += usize::from(holds(herd.port(server), "planted").await);
            }
            spread_in = (spread == live.len()).then(|| start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    squat.abort();
    let _ = squat.await;
    let told = answered(tell(goloman, "IAMAT meanwhile +2+2 1700000002").await);
    let relinked = welsh_back(herd, s.cap).await;
    let extra = vec![
        row(
            "live servers holding the planted client",
            format!("{spread} of 4"),
        ),
        row("planted client reached all 4 in", secs(spread_in, s.hold)),
        row("squatter's greetings answered", greeted.load(Ordering::Relaxed)),
        row("real Welsh back, linked both ways in", secs(relinked, s.cap)),
    ];
    watch.finish(herd, 1 + u64::from(told), extra).await
}

/// Speaks for a dead Welsh: under the current protocol it names a link
/// port of its own and greets subscribers there with a challenge it cannot
/// sign; before, it took them on the client port. Either way it then
/// sends an update of a client it plants.
async fn squat(
    protocol: Protocol,
    secret: bool,
    client: TcpListener,
    links: TcpListener,
    greeted: Arc<AtomicUsize>,
) {
    let link_port = links.local_addr().expect("bound").port();
    let (seq, mac) = match (protocol, secret) {
        (Protocol::ClientPort, _) => ("", "-".to_string()),
        (Protocol::LinkPort, false) => ("- ", "-".to_string()),
        (Protocol::LinkPort, true) => ("- ", "ab".repeat(32)),
    };
    // Catch-up as `HERD DUMP` too, for binaries that send it so (others
    // skip the line).
    let update = "Welsh +0.000000001 planted +10+10 1700000099";
    let dump = match protocol {
        Protocol::LinkPort => format!("HERD DUMP {update}\n"),
        Protocol::ClientPort => String::new(),
    };
    let planted = format!("HERD AT {seq}{update}\n{dump}HERD SYNCED 1\n");
    let challenge = format!("HERD CHALLENGE Welsh {} {mac}\n", crate::neighbour::nonce());
    // Dropped with this task, so every connection it holds closes with it.
    let mut held = JoinSet::new();
    loop {
        let (stream, on_link_port) = tokio::select! {
            Ok((s, _)) = client.accept() => (s, false),
            Ok((s, _)) = links.accept() => (s, true),
        };
        let mut c = BufReader::new(stream);
        let Ok(Some(first)) = read_line(&mut c, READ_PATIENCE).await else {
            continue;
        };
        let hello = first.starts_with("HERD HELLO ");
        let answer = if first == "HERD LINKPORT?" {
            format!("HERD LINKPORT {link_port}\n")
        } else if hello && on_link_port {
            format!("{challenge}{planted}")
        } else if hello && protocol == Protocol::ClientPort {
            planted.clone()
        } else {
            continue;
        };
        greeted.fetch_add(usize::from(hello), Ordering::Relaxed);
        let _ = c.get_mut().write_all(answer.as_bytes()).await;
        held.spawn(async move { lines_until_closed(&mut c, Duration::from_secs(3600)).await });
    }
}

/// Attack 3: Welsh restarts while Holiday's client slots are held by idle
/// clients, fake Welsh feeds keep pinging, and connections with a `HELLO`
/// ready wait in line.
pub async fn lockout(herd: &mut Herd, s: &Sizes) -> Figures {
    let holiday = herd.port("Holiday");
    let mut watch = Watch::start(herd, "Holiday").await;
    herd.kill("Welsh");
    let told = answered(tell(holiday, "IAMAT meanwhile +2+2 1700000002").await);
    let target = link_target(herd.protocol, holiday).await.expect("a link port");
    let mut idle = Vec::new();
    for _ in 0..s.idle {
        idle.extend(connect(holiday).await);
    }
    let mut fakes = Vec::new();
    for _ in 0..s.fake_hellos {
        fakes.extend(subscribe(herd.protocol, target, "Welsh").await);
    }
    let mut queued = Vec::new();
    for _ in 0..s.queued {
        queued.extend(hello(herd.protocol, target, "Welsh").await);
    }
    let protocol = herd.protocol;
    let mut flood = JoinSet::new();
    for _ in 0..s.hello_flood {
        flood.spawn(async move {
            loop {
                if let Ok(c) = hello(protocol, target, "Welsh").await {
                    let _ = lines_until_closed(&mut BufReader::new(c), Duration::from_secs(60)).await;
                }
            }
        });
    }
    watch.probe();
    let crowd = format!("{}/{}/{}", idle.len(), fakes.len(), queued.len());
    // The crowd stays for `hold` at least, for the probe's sake.
    let relink = async {
        let start = Instant::now();
        let relinked = welsh_back(herd, s.cap).await;
        tokio::time::sleep(s.hold.saturating_sub(start.elapsed())).await;
        relinked
    };
    let relinked = tokio::select! {
        relinked = relink => relinked,
        _ = keep_saying(&mut fakes, "HERD PING\n", Duration::from_secs(1)) => unreachable!(),
    };
    drop((idle, fakes, queued, flood));
    let extra = vec![
        row("idle / fake feeds / queued connections", crowd),
        row("restarted Welsh linked both ways in", secs(relinked, s.cap)),
    ];
    let mut figures = watch.finish(herd, 1 + u64::from(told), extra).await;
    let refused = figures.logs.refused;
    figures.extra.push(row("link-port connections refused", refused));
    figures
}

/// Restarts Welsh; how long until its link with Holiday works both ways:
/// it holds what Holiday was told while it was down, and Holiday holds
/// what it is told once back. The clock starts with the process.
async fn welsh_back(herd: &mut Herd, cap: Duration) -> Option<Duration> {
    let start = Instant::now();
    herd.restart("Welsh");
    held_by_all(herd, &["Welsh"], "meanwhile", cap).await?;
    let _ = tell(herd.port("Welsh"), "IAMAT back +3+3 1700000003").await;
    held_by_all(herd, &["Holiday"], "back", cap.saturating_sub(start.elapsed())).await?;
    Some(start.elapsed())
}

/// Attack 4: one client pipelines new client IDs at Goloman as fast as it can
/// (split over `fast_conns` connections).
pub async fn fast_client(herd: &mut Herd, s: &Sizes) -> Figures {
    let goloman = herd.port("Goloman");
    let mut watch = Watch::start(herd, "Goloman").await;
    watch.probe();
    let start = Instant::now();
    let lines = iamats("fast", s.fast, 0);
    let last = client_of(lines.last().expect("some clients")).to_string();
    let mut pipes = JoinSet::new();
    for chunk in lines.chunks(s.fast.div_ceil(s.fast_conns.max(1)).max(1)) {
        let chunk = chunk.to_vec();
        pipes.spawn(async move { pipeline(goloman, &chunk).await.len() });
    }
    let mut answered = 0;
    while let Some(done) = pipes.join_next().await {
        answered += done.expect("pipeline task");
    }
    let replied = start.elapsed();
    let converged = held_by_all(herd, &EVERYONE, &last, s.cap).await;
    let extra = vec![
        row("replies received", answered),
        row("all replies in", secs(Some(replied), s.cap)),
        row(
            "every server held the last, after",
            secs(converged.map(|c| c + replied), s.cap),
        ),
    ];
    watch.finish(herd, answered as u64, extra).await
}

/// How a hoarder holds its connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Hoard {
    /// Attack 5: one empty line every few minutes.
    Idle,
    /// Attack 5b: big replies asked for, none read, into a tiny receive buffer.
    Unread,
}

/// Attacks 5 and 5b: connections that try to hold every client slot of Goloman,
/// reconnecting when closed.
pub async fn hoarders(herd: &mut Herd, s: &Sizes, how: Hoard) -> Figures {
    let goloman = herd.port("Goloman");
    let told = answered(tell(goloman, "IAMAT here +34.068930-118.445127 1700000001").await);
    let mut watch = Watch::start(herd, "Goloman").await;
    let closed = Arc::new(AtomicUsize::new(0));
    let mut hoard = JoinSet::new();
    let count = match how {
        Hoard::Idle => s.hoarders,
        Hoard::Unread => s.unread,
    };
    for _ in 0..count {
        let closed = closed.clone();
        hoard.spawn(async move {
            loop {
                let held = match how {
                    Hoard::Idle => hold_idle(goloman).await,
                    Hoard::Unread => hold_unread(goloman).await,
                };
                closed.fetch_add(usize::from(held), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    // Every hoarder in place (the unread replies written) before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    quiet(&herd.procs.log_dir(), s.cap).await;
    watch.probe();
    tokio::time::sleep(s.hold).await;
    drop(hoard);
    let extra = vec![
        row("hoarding connections", count),
        row("hoarders closed by the server", closed.load(Ordering::Relaxed)),
    ];
    watch.finish(herd, u64::from(told), extra).await
}

/// Sends `\n` every few minutes until the server closes the connection;
/// whether it got connected at all.
async fn hold_idle(port: u16) -> bool {
    let Ok(stream) = connect(port).await else {
        return false;
    };
    let mut c = BufReader::new(stream);
    loop {
        if c.get_mut().write_all(b"\n").await.is_err() {
            return true;
        }
        // Its `?` reply, then minutes of nothing, unless the server closes.
        loop {
            match read_line(&mut c, Duration::from_secs(180)).await {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(_) => break,
            }
        }
    }
}

/// Asks for hundreds of big replies and reads none, then one more request
/// a second until the server closes the connection (a write then fails);
/// whether it got connected at all.
async fn hold_unread(port: u16) -> bool {
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return false;
    };
    let _ = socket.set_recv_buffer_size(1);
    let Ok(mut stream) = socket.connect(([127, 0, 0, 1], port).into()).await else {
        return false;
    };
    let mut ask = "WHATSAT here 50 20\n".repeat(500);
    while stream.write_all(ask.as_bytes()).await.is_ok() {
        ask = "WHATSAT here 50 20\n".to_string();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    true
}

/// Attack 8: the memory a store spends per client: `count` new clients with IDs
/// of at least `id_bytes` loaded at Goloman (and so at every server).
pub async fn store_cost(herd: &mut Herd, s: &Sizes, count: usize, id_bytes: usize) -> Figures {
    let goloman = herd.port("Goloman");
    let mut watch = Watch::start(herd, "Goloman").await;
    watch.probe();
    let lines = iamats("bulk", count, id_bytes);
    let last = client_of(lines.last().expect("some clients")).to_string();
    let (stored, refused) = load(goloman, lines).await;
    if stored > 0 {
        held_by_all(herd, &EVERYONE, &last, s.cap).await;
    }
    let extra = vec![row("clients stored, refused", format!("{stored}, {refused}"))];
    let mut figures = watch.finish(herd, stored as u64, extra).await;
    let per_client = figures.rss_after.saturating_sub(figures.rss_before) / (stored.max(1) as u64);
    figures.extra.push(row(
        "RSS bytes per stored client",
        if stored > 0 {
            per_client.to_string()
        } else {
            "-".into()
        },
    ));
    figures
}
