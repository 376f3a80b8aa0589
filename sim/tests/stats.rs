//! Propagation statistics: flooding cost per update, convergence latency,
//! reconciliation and heartbeat traffic, on runs whose figures are known.

use herd_sim::observe::stats::{self, Stats};
use herd_sim::report::Outcome;
use herd_sim::scenario::{self, Scenario};
use herd_sim::{run, Options};

/// One IAMAT at each server of the default herd, 200 ms apart, no faults.
fn five_updates(flooding: &str) -> Scenario {
    let mut text =
        format!("description = \"five updates\"\nseed = 3\n\n[tuning]\nflooding = \"{flooding}\"\n");
    for (i, server) in ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "\n[[step]]\nat_ms = {}\ndo = \"client\"\nclient = \"c{i}\"\nserver = \"{server}\"\nsend = \"IAMAT c{i} +1{i}.000000+010.000000 {{now}}\"\n",
            300 + 200 * i
        ));
    }
    text.push_str("\n[[step]]\nat_ms = 1400\ndo = \"converged\"\nwithin_ms = 1000\n");
    scenario::parse(&text, "five_updates.toml", "five_updates").expect("scenario parses")
}

fn stats_of(scenario: &Scenario) -> Stats {
    let report = run(scenario, scenario.seed, Options::default());
    assert!(report.failure.is_none(), "{:?}", report.failure);
    stats::of_run(&report.records, &scenario.herd, report.sim_ms)
}

#[test]
fn plain_flooding_costs_eight_messages_per_update() {
    let stats = stats_of(&five_updates("plain"));
    assert_eq!(stats.flooding, "plain");
    assert_eq!(stats.updates, 5);
    assert_eq!(stats.update_messages, 40);
    assert_eq!(stats.msgs_per_update, Some(8.0));
    assert_eq!(stats.msgs_per_update_by_origin.len(), 5);
    assert!(stats.msgs_per_update_by_origin.values().all(|&m| m == 8.0));
    assert_eq!(stats.convergence.updates, 5);
    assert_eq!(stats.convergence.unconverged, 0);
    let max = stats.convergence.max_ms.expect("a latency");
    assert!(max > 0 && max <= 20, "max {max} ms");
    assert!(stats.convergence.p50_ms <= stats.convergence.p99_ms);
    assert_eq!(stats.reconciliation.lines, 0, "no outage, nothing to catch up");
}

#[test]
fn pruned_flooding_costs_less_and_still_converges() {
    let stats = stats_of(&five_updates("pruned"));
    assert_eq!(stats.flooding, "pruned");
    assert_eq!(stats.updates, 5);
    let m = stats.msgs_per_update.expect("updates were made");
    // Four messages reach four other servers; pruning cannot go below that.
    assert!(
        (4.0..8.0).contains(&m),
        "pruned flooding costs {m} messages per update"
    );
    assert_eq!(stats.convergence.unconverged, 0);
}

#[test]
fn reconciliation_after_a_heal_is_counted() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/partition_then_heal_catches_up.toml");
    let scenario = scenario::load(&path).expect("scenario loads");
    let stats = stats_of(&scenario);
    // Each side learned one update the other missed; the dumps carry them.
    assert!(stats.reconciliation.lines >= 2, "{:?}", stats.reconciliation);
    assert!(stats.reconciliation.bytes > stats.reconciliation.lines * 40);
    assert!(
        stats.reconciliation.dumps > 12,
        "startup dumps plus the rebuilt links"
    );
    assert_eq!(stats.convergence.unconverged, 0);
    // Convergence waited for the heal at 4 s; the updates were made at 0.5 s.
    assert!(stats.convergence.max_ms.expect("a latency") > 3000);
}

#[test]
fn heartbeats_cost_about_four_pings_per_link_per_heartbeat() {
    // An idle herd: any other traffic (acknowledgements above all) would
    // stand in for pings.
    let text = "description = \"idle\"\nseed = 3\nend_ms = 2400\n";
    let idle = scenario::parse(text, "idle.toml", "idle").expect("scenario parses");
    let stats = stats_of(&idle);
    assert_eq!(stats.heartbeats.links, 6);
    // Two connections per link, a ping each way every 250 ms when idle.
    let per_link = stats.heartbeats.per_link_per_s;
    assert!(
        (12.0..=16.5).contains(&per_link),
        "{per_link} pings per link per second"
    );
}

#[test]
fn json_entry_has_the_documented_keys() {
    let scenario = five_updates("plain");
    let report = run(&scenario, scenario.seed, Options::default());
    let stats = stats::of_run(&report.records, &scenario.herd, report.sim_ms);
    let json = Outcome::of(&scenario, scenario.seed, &report, 0.0).json("herd-sim run x");
    for key in [
        "command",
        "scenario",
        "path",
        "seed",
        "pass",
        "sim_ms",
        "convergence_wait_ms",
        "failure",
        "flooding",
        "updates",
        "update_messages",
        "msgs_per_update",
        "msgs_per_update_by_origin",
        "convergence",
        "reconciliation",
        "heartbeats",
    ] {
        assert!(json.get(key).is_some(), "no {key} in {json}");
    }
    assert_eq!(json["msgs_per_update"], 8.0);
    assert_eq!(json["failure"], serde_json::Value::Null);
    for key in ["p50_ms", "p99_ms", "max_ms", "updates", "unconverged"] {
        assert!(json["convergence"].get(key).is_some(), "no convergence.{key}");
    }
    // Whole milliseconds, never 1261.0000000000002.
    assert!(json["convergence"]["p99_ms"].is_u64(), "{}", json["convergence"]);
    assert!(
        json["convergence"].get("each").is_none(),
        "the plot's data stays out"
    );
    assert_eq!(
        stats.summary(),
        format!(
            "msgs/update 8.0  propagation p99 {} ms",
            stats.convergence.p99_ms.unwrap()
        )
    );
}
