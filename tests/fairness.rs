//! A server's tasks share one thread, so a task with work ready must give
//! way between batches. A write to a socket with room completes at once,
//! and tokio lets a task make 128 of them per turn: a feed dumping its
//! store could keep the thread for a whole dump while every heartbeat and
//! reply of the server waited. On a busy machine, a storm of feeds that
//! each asked for dumps held a server's heartbeats back past
//! `dead_after_ms`, and its real links dropped (tests/overload.rs).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::clients::{iamats, pipeline};
use common::neighbour::{link_port, read_line, subscribe, Protocol};
use herd::config::HerdConfig;
use herd::local::{LocalHerd, Observers};
use herd::observe::{ConnId, Event, NullObserver, Observer};
use herd::places::FakePlaces;
use herd::protocol::PeerMessage;
use tokio::io::BufReader;

/// Clients in the store, so each dump is this many chunks of one.
const STORED: usize = 1_000;

/// The connection of every `HERD DUMP` the server sends, in order.
#[derive(Default)]
struct Dumps(Mutex<Vec<ConnId>>);

impl Observer for Dumps {
    fn event(&self, event: &Event<'_>) {
        if let Event::PeerSend {
            conn,
            message: PeerMessage::Dump { .. },
            ..
        } = event
        {
            self.0.lock().unwrap().push(*conn);
        }
    }
}

/// The longest run of consecutive items that are equal.
fn longest_run(items: &[ConnId]) -> usize {
    items.chunk_by(|a, b| a == b).map(<[_]>::len).max().unwrap_or(0)
}

/// Hub, linked to A and B, which are not running: two strangers take their
/// names (there is no secret) and are both dumped Hub's store, a record
/// per chunk. While both dumps run, they take turns: neither gets a run of
/// chunks longer than a few, where a feed that kept the thread would write
/// a hundred or more per turn.
#[tokio::test]
async fn two_dumps_at_once_take_turns_chunk_by_chunk() {
    let mut herd = HerdConfig::from_toml(
        "links = [[\"Hub\", \"A\"], [\"Hub\", \"B\"]]\n\
         [[server]]\nname = \"Hub\"\nport = 0\n\
         [[server]]\nname = \"A\"\nport = 0\n\
         [[server]]\nname = \"B\"\nport = 0\n",
        "fairness",
    )
    .expect("valid herd");
    herd.tuning.catch_up_chunk = 1;
    let dumps = Arc::new(Dumps::default());
    let hub_dumps = dumps.clone();
    let observers: Observers = Arc::new(move |name| {
        if name == "Hub" {
            hub_dumps.clone()
        } else {
            Arc::new(NullObserver)
        }
    });
    let mut local = LocalHerd::start_observed(&herd, Arc::new(FakePlaces), observers)
        .await
        .expect("herd starts");
    local.stop("A").await.expect("A stops");
    local.stop("B").await.expect("B stops");
    let hub = local.addr("Hub").port();
    let replies = pipeline(hub, &iamats("stored", STORED, 0)).await;
    assert_eq!(replies.len(), STORED, "the store is filled");

    let links = link_port(hub).await.expect("Hub's link port");
    let mut feeds = Vec::new();
    for name in ["A", "B"] {
        let stream = subscribe(Protocol::LinkPort, links, name)
            .await
            .expect("subscribed");
        feeds.push(BufReader::new(stream));
    }
    for feed in &mut feeds {
        loop {
            let line = read_line(feed, Duration::from_secs(30))
                .await
                .expect("the dump comes")
                .expect("the feed stays open");
            if line.starts_with("HERD SYNCED") {
                break;
            }
        }
    }
    local.shutdown().await;

    let sent = dumps.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 2 * STORED, "both dumps are whole");
    let (a, b) = (sent[0], *sent.iter().find(|&&c| c != sent[0]).expect("two feeds"));
    let last = |conn| sent.iter().rposition(|&c| c == conn).expect("dumped");
    let first = |conn| sent.iter().position(|&c| c == conn).expect("dumped");
    let both = &sent[first(a).max(first(b))..=last(a).min(last(b))];
    assert!(
        both.len() > STORED / 2,
        "the dumps hardly overlapped ({} chunks): the test shows nothing",
        both.len()
    );
    let run = longest_run(both);
    assert!(
        run <= 8,
        "a feed wrote {run} chunks in a row while the other waited"
    );
}
