//! The checkers themselves must catch what they claim to catch: the
//! inside view on store changes as a server would report them, convergence
//! on stores in given groups, the outside view on exchanges as a client
//! would see them.

// Violations are large by design, as in the library (lib.rs).
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::time::Duration;

use herd::protocol::{ClientTime, Location, PeerMessage, Skew, Update};
use herd_sim::observe::{Record, ServerEvent, Source, What};
use herd_sim::oracle::client::{check_acks, check_refusal, check_whatsat, expect_ack, Exchange};
use herd_sim::oracle::violation::Unconverged;
use herd_sim::oracle::{Entry, Inside, View, ViolationKind};
use herd_sim::world::herd_config::sim_herd;

/// An update as a server would report it, from its AT line.
fn update(line: &str) -> Update {
    let f: Vec<&str> = line.split(' ').collect();
    let skew = Entry::from_at_line(line).expect("an AT line").skew_ns;
    Update {
        origin: f[1].to_string(),
        skew: Skew(skew),
        client: f[3].to_string(),
        location: Location::parse(f[4]).expect("a location"),
        time: ClientTime::parse(f[5]).expect("a time"),
    }
}

fn record(server: &str, incarnation: u32, event: ServerEvent) -> Record {
    Record {
        at: Duration::ZERO,
        host: server.into(),
        what: What::Server { incarnation, event },
    }
}

fn stored(server: &str, incarnation: u32, now: &str, replaced: Option<&str>) -> Record {
    let event = ServerEvent::Stored {
        update: update(now),
        replaced: replaced.map(update),
        source: Source::Client(1),
    };
    record(server, incarnation, event)
}

fn inside_view() -> Inside {
    Inside::new(&sim_herd(None, None).expect("the default herd"))
}

/// Judges a record in a calm world: no delay spread, every link steady.
fn observe(inside: &mut Inside, record: &Record) -> Result<(), herd_sim::Violation> {
    let view = View {
        spread_ms: 0,
        steady: &|_, _| true,
    };
    inside.observe(record, &view)
}

fn kind<T>(result: Result<T, herd_sim::Violation>) -> Option<ViolationKind> {
    result.err().map(|v| v.kind())
}

const AT_100: &str = "AT Hands +0.000000001 kiwi +01.000000+001.000000 100";
const AT_200: &str = "AT Hands +0.000000001 kiwi +01.000000+001.000000 200";

#[test]
fn an_update_no_client_sent_breaks_the_model() {
    let mut inside = inside_view();
    inside.sending("Hands", b"IAMAT kiwi +01.000000+001.000000 100\n");
    assert_eq!(observe(&mut inside, &stored("Hands", 1, AT_100, None)), Ok(()));
    // Same client and time, but a location the client never sent.
    let elsewhere = "AT Hands +0.000000001 kiwi +02.000000+002.000000 100";
    let planted = stored("Hands", 1, elsewhere, Some(AT_100));
    assert_eq!(
        kind(observe(&mut inside, &planted)),
        Some(ViolationKind::NeverSent)
    );
}

#[test]
fn an_update_claiming_the_wrong_origin_breaks_the_model() {
    let mut inside = inside_view();
    inside.sending("Hands", b"IAMAT kiwi +01.000000+001.000000 100\n");
    let claimed = "AT Goloman +0.000000001 kiwi +01.000000+001.000000 100";
    assert_eq!(
        kind(observe(&mut inside, &stored("Welsh", 1, claimed, None))),
        Some(ViolationKind::NeverSent)
    );
}

#[test]
fn going_back_in_client_time_breaks_the_model() {
    let mut inside = inside_view();
    inside.sending(
        "Hands",
        b"IAMAT kiwi +01.000000+001.000000 100\nIAMAT kiwi +01.000000+001.000000 200\n",
    );
    observe(&mut inside, &stored("Hands", 1, AT_200, None)).unwrap();
    let back = stored("Hands", 1, AT_100, Some(AT_200));
    assert_eq!(kind(observe(&mut inside, &back)), Some(ViolationKind::BackInTime));
    // A restarted server starts empty: the older one is news to it.
    assert_eq!(observe(&mut inside, &stored("Hands", 2, AT_100, None)), Ok(()));
}

#[test]
fn a_change_that_replaces_something_else_breaks_the_model() {
    let mut inside = inside_view();
    inside.sending(
        "Hands",
        b"IAMAT kiwi +01.000000+001.000000 100\nIAMAT kiwi +01.000000+001.000000 200\n",
    );
    observe(&mut inside, &stored("Hands", 1, AT_100, None)).unwrap();
    let claims_empty = stored("Hands", 1, AT_200, None);
    assert_eq!(
        kind(observe(&mut inside, &claims_empty)),
        Some(ViolationKind::Misreported)
    );
}

#[test]
fn flooding_more_than_a_loop_free_herd_can_breaks_the_bound() {
    let mut inside = inside_view();
    inside.sending("Hands", b"IAMAT kiwi +01.000000+001.000000 100\n");
    let send = || {
        let event = ServerEvent::PeerSend {
            conn: 1,
            neighbour: "Goloman".into(),
            message: PeerMessage::update(update(AT_100)),
        };
        record("Hands", 1, event)
    };
    // One update in the default herd (6 links): each server sends it at
    // most once to each neighbour, 12 sends in all.
    for _ in 0..12 {
        observe(&mut inside, &send()).unwrap();
    }
    assert_eq!(
        kind(observe(&mut inside, &send())),
        Some(ViolationKind::FloodCost)
    );
}

fn groups(groups: &[&[&str]]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| g.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn convergence_wants_the_told_update_and_agreement() {
    let mut inside = inside_view();
    inside.sending("Hands", b"IAMAT kiwi +01.000000+001.000000 100\n");
    inside.sending("Welsh", b"IAMAT kiwi +02.000000+002.000000 200\n");
    inside.sending("Welsh", b"IAMAT fig +02.000000+002.000000 200\n");
    let from_welsh = "AT Welsh +0.000000001 kiwi +02.000000+002.000000 200";
    inside.told.told(Entry::from_at_line(AT_100).unwrap());
    inside.told.told(Entry::from_at_line(from_welsh).unwrap());
    assert_eq!(inside.told.clients(), 1, "the newest per client is kept");
    observe(&mut inside, &stored("Hands", 1, AT_100, None)).unwrap();
    observe(&mut inside, &stored("Welsh", 1, from_welsh, None)).unwrap();
    let both = groups(&[&["Hands", "Welsh"]]);
    let behind = inside.told.check(&inside.model, &both).unwrap_err();
    assert!(behind.to_string().contains("Hands holds AT Hands"), "{behind}");
    // Cut apart, Hands owes nothing for an update whose origin it cannot reach.
    assert_eq!(
        inside
            .told
            .check(&inside.model, &groups(&[&["Hands"], &["Welsh"]])),
        Ok(())
    );

    observe(&mut inside, &stored("Hands", 1, from_welsh, Some(AT_100))).unwrap();
    assert_eq!(inside.told.check(&inside.model, &both), Ok(()));
    // An update no client was told of must still be everywhere in the group.
    let fig = "AT Welsh +0.000000001 fig +02.000000+002.000000 200";
    observe(&mut inside, &stored("Welsh", 1, fig, None)).unwrap();
    let Err(Unconverged::Gaps { count, examples }) = inside.told.check(&inside.model, &both) else {
        panic!("Hands and Welsh disagree on fig");
    };
    assert_eq!(count, 1);
    assert!(
        examples[0].to_string().contains("but Welsh holds"),
        "{}",
        examples[0]
    );
}

#[test]
fn an_acknowledged_update_must_outlive_its_origin() {
    let mut inside = inside_view();
    inside.sending("Welsh", b"IAMAT kiwi +02.000000+002.000000 200\n");
    let acked = "AT Welsh +0.000000001 kiwi +02.000000+002.000000 200";
    let survivors = BTreeSet::from(["Holiday".to_string(), "Goloman".to_string()]);
    inside
        .told
        .must_survive(Entry::from_at_line(acked).unwrap(), survivors);
    // Welsh is gone: only the survivors are in the groups.
    let left = groups(&[&["Goloman", "Holiday"]]);
    assert!(inside.told.check(&inside.model, &left).is_err());
    observe(&mut inside, &stored("Holiday", 1, acked, None)).unwrap();
    observe(&mut inside, &stored("Goloman", 1, acked, None)).unwrap();
    assert_eq!(inside.told.check(&inside.model, &left), Ok(()));
}

fn exchange(sent: &str, reply: &str) -> Exchange {
    Exchange {
        client: "kiwi".into(),
        server: "Hands".into(),
        sent: sent.as_bytes().to_vec(),
        reply: reply.as_bytes().to_vec(),
        started_ns: 100_000_000_000,
        ended_ns: 100_010_000_000,
    }
}

const IAMAT: &str = "IAMAT kiwi +1.0+1.0 99.5\n";
const TICK_NS: i128 = 1_000_000;

#[test]
fn an_ack_must_carry_the_exact_skew() {
    // Received at 100.003 s: 0.503 s after the client's 99.5.
    let good = exchange(IAMAT, "AT Hands +0.503000000 kiwi +1.0+1.0 99.5\n");
    assert_eq!(check_acks(&good, TICK_NS), Ok(()));
    assert!(expect_ack(&good).is_ok());
    let off_tick = exchange(IAMAT, "AT Hands +0.503000001 kiwi +1.0+1.0 99.5\n");
    assert_eq!(kind(check_acks(&off_tick, TICK_NS)), Some(ViolationKind::Skew));
    let too_late = exchange(IAMAT, "AT Hands +0.520000000 kiwi +1.0+1.0 99.5\n");
    assert_eq!(kind(check_acks(&too_late, TICK_NS)), Some(ViolationKind::Skew));
    let short = exchange(IAMAT, "AT Hands +0.50300000 kiwi +1.0+1.0 99.5\n");
    assert_eq!(
        kind(check_acks(&short, TICK_NS)),
        Some(ViolationKind::MalformedAt)
    );
    let other = exchange(IAMAT, "AT Welsh +0.503000000 kiwi +1.0+1.0 99.5\n");
    assert_eq!(
        kind(check_acks(&other, TICK_NS)),
        Some(ViolationKind::MalformedAt)
    );
    assert!(expect_ack(&exchange(IAMAT, "? IAMAT kiwi +1.0+1.0 99.5\n")).is_err());
}

#[test]
fn a_client_herd_line_must_be_refused() {
    let line = "HERD AT Hands +0.000000000 kiwi +1.0+1.0 99.5";
    let refused = exchange(&format!("{line}\n"), &format!("? {line}\n"));
    assert_eq!(check_refusal(&refused), Ok(()));
    let answered = exchange(&format!("{line}\n"), "AT Hands +0.000000000 kiwi +1.0+1.0 99.5\n");
    assert_eq!(kind(check_refusal(&answered)), Some(ViolationKind::Planted));
}

#[test]
fn a_whatsat_reply_must_have_its_shape() {
    let at = "AT Hands +0.503000000 kiwi +1.0+1.0 99.5";
    let ok = exchange("WHATSAT kiwi 10 1\n", &format!("{at}\n{{\"results\": [1]}}\n\n"));
    assert_eq!(check_whatsat(&ok), Ok(()));
    for bad in [
        format!("{at}\n{{\"results\": [1, 2]}}\n\n"),
        format!("{at}\n{{\"results\": []}}\n"),
        format!("{at}\n{{\n\n\"results\": []}}\n\n"),
        format!("{at}\nnot json\n\n"),
    ] {
        let ex = exchange("WHATSAT kiwi 10 1\n", &bad);
        assert_eq!(
            kind(check_whatsat(&ex)),
            Some(ViolationKind::WhatsatShape),
            "{bad:?}"
        );
    }
}
