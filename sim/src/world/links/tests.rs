//! Groups, settling after faults, and what an acknowledgement must reach.

use super::*;

fn links() -> Links {
    Links::new(&HerdConfig::default_herd(), 5)
}

/// Links settle 3 s after a fault (4 s after one that may have
/// swallowed a handshake's reply); acknowledgements wait 2 s.
fn tuning(flooding: Flooding) -> Tuning {
    Tuning {
        dead_after_ms: 2_000,
        handshake_timeout_ms: 3_000,
        backoff_max_ms: 1_000,
        ack_timeout_ms: 2_000,
        flooding,
        ..Tuning::default()
    }
}

fn reach(l: &Links, origin: &str, now: Duration, t: &Tuning) -> BTreeSet<String> {
    l.settled_reach(origin, now, t)
}

#[test]
fn a_cut_server_is_a_group_of_its_own() {
    let mut l = links();
    l.cut("Welsh", "Holiday", true, true, Duration::ZERO);
    let groups = l.groups();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups.contains(&vec!["Welsh".to_string()]));
    l.cut("Welsh", "Holiday", true, false, Duration::from_secs(1));
    assert_eq!(l.groups().len(), 1);
}

#[test]
fn reach_waits_for_links_and_servers_to_settle() {
    let (mut l, t) = (links(), tuning(Flooding::Plain));
    let now = Duration::from_secs(10);
    assert_eq!(reach(&l, "Hands", now, &t).len(), 4);
    l.hold("Holiday", "Welsh", true, now);
    assert!(!reach(&l, "Hands", now, &t).contains("Welsh"));
    l.hold("Holiday", "Welsh", false, now + Duration::from_secs(1));
    let soon = now + Duration::from_secs(2);
    assert!(!reach(&l, "Hands", soon, &t).contains("Welsh"));
    let later = now + Duration::from_secs(5);
    assert!(reach(&l, "Hands", later, &t).contains("Welsh"));
    l.down("Holiday");
    assert!(!reach(&l, "Hands", later, &t).contains("Welsh"));
}

#[test]
fn a_one_way_cut_settles_only_after_the_handshake_timeout() {
    let t = tuning(Flooding::Plain);
    let healed = Duration::from_secs(10);
    let at = |s: f64| healed + Duration::from_secs_f64(s);
    for oneway in [false, true] {
        let mut l = links();
        l.cut("Holiday", "Welsh", oneway, true, Duration::from_secs(5));
        l.cut("Holiday", "Welsh", oneway, false, healed);
        assert!(!reach(&l, "Holiday", at(2.5), &t).contains("Welsh"));
        assert_eq!(reach(&l, "Holiday", at(3.5), &t).contains("Welsh"), !oneway);
        assert!(reach(&l, "Holiday", at(4.5), &t).contains("Welsh"));
    }
}

#[test]
fn a_lowered_latency_settles_like_a_fault() {
    let (mut l, t) = (links(), tuning(Flooding::Plain));
    l.latency("Holiday", "Welsh", 1_500, Duration::ZERO);
    assert!(!reach(&l, "Holiday", Duration::from_secs(10), &t).contains("Welsh"));
    l.latency("Holiday", "Welsh", 1, Duration::from_secs(10));
    assert!(!reach(&l, "Holiday", Duration::from_secs(11), &t).contains("Welsh"));
    assert!(reach(&l, "Holiday", Duration::from_secs(14), &t).contains("Welsh"));
}

#[test]
fn pruned_flooding_costs_every_hop_at_the_slowest_link() {
    let mut l = links();
    l.latency("Hands", "Wilkes", 1_500, Duration::ZERO);
    let now = Duration::from_secs(10);
    // Plain flooding reaches Wilkes through Goloman too; pruned may
    // send it only over the slow link.
    assert!(reach(&l, "Hands", now, &tuning(Flooding::Plain)).contains("Wilkes"));
    assert!(reach(&l, "Hands", now, &tuning(Flooding::Pruned)).is_empty());
}

#[test]
fn pruned_flooding_does_not_count_on_a_server_with_a_cut_link() {
    let mut l = links();
    l.cut("Wilkes", "Holiday", false, true, Duration::from_secs(9));
    let now = Duration::from_secs(10);
    // Wilkes may still count Holiday as sent to, so Goloman skips it.
    assert!(reach(&l, "Hands", now, &tuning(Flooding::Plain)).contains("Holiday"));
    let pruned = reach(&l, "Hands", now, &tuning(Flooding::Pruned));
    assert!(
        !pruned.contains("Holiday") && pruned.contains("Goloman"),
        "{pruned:?}"
    );
}

#[test]
fn reach_stops_where_the_round_trip_exceeds_the_budget() {
    let mut l = links();
    l.latency("Holiday", "Welsh", 600, Duration::ZERO);
    let now = Duration::from_secs(10);
    let t = tuning(Flooding::Plain);
    assert!(reach(&l, "Holiday", now, &t).contains("Welsh"));
    let tight = Tuning {
        ack_timeout_ms: 1_000,
        ..t
    };
    assert!(!reach(&l, "Holiday", now, &tight).contains("Welsh"));
}
