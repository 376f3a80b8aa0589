//! Overload on the default herd, run as five `herd serve` processes: a
//! client that pipelines tens of thousands of new client IDs, and a storm
//! of feeds that never read and ask for `RESYNC` over and over. Neither
//! may cost a link, grow a server's memory, or multiply the flood.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::clients::{client_of, iamats, pipeline, quantile, round};
use common::log_lines::{self, Tally};
use common::neighbour::{link_target, subscribe, Protocol};
use common::procs::{rss_bytes, HerdProcs, Setup};
use common::{held_by_all, told};
use herd::config::HerdConfig;
use tokio::io::AsyncWriteExt;

/// `HERD AT` messages one update costs on the default herd: over each of
/// its six links both ways, but never back to where it came from.
const FLOOD_BOUND: u64 = 8;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_herd"))
}

/// Waits until every server answers WHATSAT for each of `clients`.
async fn converged(herd: &HerdProcs, clients: &[String]) {
    for client in clients {
        held_by_all(&herd.ports(), client).await;
    }
}

/// Pipelines IAMATs of `count` new clients at `port` on one connection;
/// each must be answered, in order. Returns their IDs.
async fn fast(port: u16, count: usize) -> Vec<String> {
    let lines = iamats("fast", count, 0);
    let replies = pipeline(port, &lines).await;
    assert_eq!(
        replies.len(),
        count,
        "replies missing; the last: {:?}",
        replies.last()
    );
    for (line, reply) in lines.iter().zip(&replies) {
        let id = client_of(line);
        assert!(
            reply.starts_with("AT Goloman ") && reply.contains(&format!(" {id} ")),
            "{line} -> {reply}"
        );
    }
    lines.iter().map(|l| client_of(l).to_string()).collect()
}

async fn a_fast_client(ack: &str, count: usize) {
    let setup = Setup::tuning(&format!("ack = \"{ack}\""));
    let mut herd = HerdProcs::launch(binary(), &HerdConfig::default_herd(), &setup).expect("the herd starts");
    let started = Instant::now();
    let ids = fast(herd.port("Goloman"), count).await;
    let loaded = started.elapsed();
    let samples = [ids[0].clone(), ids[count / 2].clone(), ids[count - 1].clone()];
    converged(&herd, &samples).await;
    eprintln!(
        "{count} IDs with ack = {ack}: {loaded:?} to load, {:?} to converge",
        started.elapsed()
    );
    herd.stop_all().expect("the herd stops");
    let tally: Tally = log_lines::tally_before_shutdown(&herd.log_dir());
    eprintln!("{tally:?}");
    assert_eq!(tally.link_downs, 0, "links dropped: {tally:?}");
    assert_eq!(
        tally.dumps, tally.feed_ups,
        "a catch-up dump besides link starts: {tally:?}"
    );
    assert_eq!(
        tally.feed_ups, 12,
        "each of the six links up once each way: {tally:?}"
    );
    assert!(
        tally.flooded(ack == "herd") <= FLOOD_BOUND * count as u64,
        "{} HERD AT lines flooded for {count} updates: {tally:?}",
        tally.flooded(ack == "herd")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_client_acknowledged_by_the_herd_costs_no_link_and_no_extra_flood() {
    a_fast_client("herd", 10_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_client_acknowledged_locally_costs_no_link_and_no_extra_flood() {
    a_fast_client("local", 30_000).await;
}

/// Stored clients before the storm, fake feeds opened, `RESYNC`s each asks.
const STORED: usize = 5_000;
const FAKE_FEEDS: usize = 100;
const RESYNCS: usize = 50;

/// How many times each server logged its link to each neighbour as lost:
/// `(server, neighbour) -> count`, before the herd began to shut down.
fn link_downs(herd: &HerdProcs) -> BTreeMap<(String, String), usize> {
    let shutdown = log_lines::first_shutdown(&herd.log_dir()).expect("the herd has stopped");
    let mut downs = BTreeMap::new();
    for name in herd.names() {
        let lines = log_lines::lines(&herd.log_dir(), &name);
        for line in lines.iter().map(|l| log_lines::parse(l)) {
            if line.kind == "link_down" && line.stamp < shutdown {
                *downs.entry((name.clone(), line.text("peer"))).or_default() += 1;
            }
        }
    }
    downs
}

/// A hundred strangers, each naming Goloman's neighbour Hands, none
/// reading a byte, each asking for a full dump fifty times (flooding is
/// pruned, so `RESYNC` counts). Goloman's memory must not grow with them,
/// its clients must be answered meanwhile, and no link may drop but the
/// one they name; afterwards the herd converges. Returns how often Hands
/// lost its link to Goloman.
async fn a_storm_of_feeds(secret: Option<&str>) -> usize {
    let template = HerdConfig::default_herd();
    let setup = Setup::tuning("flooding = \"pruned\"\nack = \"local\"")
        .secrets(&template, |_| secret.map(str::to_string));
    let mut herd = HerdProcs::launch(binary(), &template, &setup).expect("the herd starts");
    let goloman = herd.port("Goloman");
    let ids = fast(goloman, STORED).await;
    held_by_all(&herd.ports(), &ids[STORED - 1]).await;
    let pid = herd.pid("Goloman");
    let before = rss_bytes(pid).expect("Goloman runs");
    let links = link_target(Protocol::LinkPort, goloman).await.expect("link port");

    let storm_over = AtomicBool::new(false);
    let storm = async {
        let mut fakes = Vec::new();
        for _ in 0..FAKE_FEEDS {
            let mut fake = subscribe(Protocol::LinkPort, links, "Hands")
                .await
                .expect("connect");
            // A replaced feed may be closed before all of these are in.
            let _ = fake.write_all("HERD RESYNC\n".repeat(RESYNCS).as_bytes()).await;
            fakes.push(fake);
        }
        // Long enough for the last ones to be served all they asked for.
        tokio::time::sleep(Duration::from_secs(1)).await;
        storm_over.store(true, Ordering::Relaxed);
        fakes
    };
    let mut peak = before;
    let mut rounds = Vec::new();
    // Probes until the storm is over, finishing the round in flight then:
    // on a busy machine one round may outlast the whole storm.
    let watch = async {
        let mut n = 0;
        while n == 0 || !storm_over.load(Ordering::Relaxed) {
            peak = peak.max(rss_bytes(pid).expect("Goloman runs"));
            rounds.push(round(goloman, &format!("probe-{n}")).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
            n += 1;
        }
    };
    let (fakes, ()) = tokio::join!(storm, watch);
    drop(fakes);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_bytes(pid).expect("Goloman runs");

    // Every probe round, the load and the marker below are one update each.
    let updates = (STORED + rounds.len() + 1) as u64;
    let mut latencies: Vec<Duration> = rounds
        .into_iter()
        .map(|r| r.expect("every probe is answered"))
        .flat_map(|r| [r.iamat, r.whatsat])
        .collect();
    let slowest = quantile(&mut latencies, 1.0).expect("probes ran");
    eprintln!(
        "RSS {} MB before, {} MB peak, {} MB after; {} probe requests, p50 {:?}, slowest {slowest:?}",
        before >> 20,
        peak >> 20,
        after >> 20,
        latencies.len(),
        quantile(&mut latencies, 0.5).unwrap()
    );
    assert!(peak <= 2 * before, "RSS grew from {before} to {peak} bytes");
    assert!(after <= 2 * before, "RSS stayed at {after} bytes, from {before}");
    // Every probe was answered within the client's patience (above); how
    // fast is a figure for benches/attacks.rs, not a wall-clock bound that a
    // busy machine can break.

    // The real Hands links again, and the herd converges.
    told(goloman, "IAMAT after-storm +1+1 1700000001").await;
    held_by_all(&herd.ports(), "after-storm").await;
    herd.stop_all().expect("the herd stops");
    let tally = log_lines::tally_before_shutdown(&herd.log_dir());
    eprintln!("{tally:?}");
    // However many RESYNCs it asks for, a feed costs at most two dumps.
    let bound = FLOOD_BOUND * updates + 2 * updates * tally.feed_ups;
    let sent = tally.at_sent + tally.dump_lines;
    assert!(sent <= bound, "{sent} updates sent: {tally:?}");
    if secret.is_some() {
        assert_eq!(tally.refused, FAKE_FEEDS as u64, "{tally:?}");
    }
    let downs = link_downs(&herd);
    let hands = downs
        .get(&("Hands".to_string(), "Goloman".to_string()))
        .copied()
        .unwrap_or(0);
    eprintln!("links lost: {downs:?}");
    assert!(hands <= FAKE_FEEDS, "Hands lost its link {hands} times");
    assert_eq!(
        downs.len(),
        usize::from(hands > 0),
        "another link dropped: {downs:?}"
    );
    hands
}

/// Without a secret anyone who names a neighbour gets its feed, each
/// stranger in turn taking the place of the one before and of the real
/// Hands, which links again each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_feeds_that_never_read_costs_no_memory_and_no_other_link() {
    a_storm_of_feeds(None).await;
}

/// With a secret no stranger gets a feed, and no link drops at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_secret_a_storm_of_strangers_costs_no_link_at_all() {
    assert_eq!(a_storm_of_feeds(Some("storm secret")).await, 0);
}
