//! The explorer finds every bug of the catalogue (herd::bugs) from random
//! seeds, and shrinks each to a scenario file that fails with the bug and
//! passes without it. Kept fast: the sweep stops at the first failing
//! seed and the shrink has a small run budget. The CLI promise is wider:
//! `herd-sim explore --bug NAME --seeds 0..100` finds each one.

use std::path::PathBuf;

use herd::bugs::Bug;
use herd_sim::explore::{explore, Config};
use herd_sim::scenario;
use herd_sim::{run, Options};

/// Seeds the test looks through; every bug is found well within them.
const SEEDS: u64 = 20;
/// Simulation runs one shrink may spend in this test.
const SHRINK_RUNS: usize = 40;

fn out_dir(bug: Bug) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("bug_catalogue")
        .join(bug.name())
}

fn finds_and_shrinks(bug: Bug) {
    let out = out_dir(bug);
    let _ = std::fs::remove_dir_all(&out);
    let config = Config {
        seeds: 0..SEEDS,
        shard: (1, 1),
        herd: None,
        out: out.clone(),
        bug: Some(bug),
        keep_going: false,
        shrink_runs: SHRINK_RUNS,
        verbose: false,
        progress: false,
    };
    let mut log = Vec::new();
    let summary = explore(&config, &mut log).expect("explore writes its files");
    let log = String::from_utf8_lossy(&log);
    let finding = summary
        .findings
        .first()
        .unwrap_or_else(|| panic!("{bug} not found in seeds 0..{SEEDS}:\n{log}"));
    assert!(
        finding.replayed,
        "{bug}: the written scenario does not replay:\n{log}"
    );
    let (path, steps) = finding.shrunk.clone().expect("a shrunk scenario");
    let shrunk = scenario::load(&path).expect("the shrunk scenario loads");
    assert_eq!(shrunk.steps.len(), steps);
    assert!(
        steps
            < scenario::load(&finding.file)
                .expect("the whole scenario loads")
                .steps
                .len(),
        "{bug}: shrinking removed nothing:\n{log}"
    );
    let with = run(
        &shrunk,
        shrunk.seed,
        Options {
            bug: Some(bug),
            ..Options::default()
        },
    );
    let failure = with
        .failure
        .unwrap_or_else(|| panic!("{bug}: the shrunk scenario passes with the bug:\n{log}"));
    assert_eq!(failure.kind(), finding.kind, "{bug}: {log}");
    assert_eq!(failure.violation.kind(), finding.class, "{bug}: {log}");
    let without = run(&shrunk, shrunk.seed, Options::default());
    assert!(
        without.failure.is_none(),
        "{bug}: the shrunk scenario fails without the bug: {:?}",
        without.failure
    );
}

macro_rules! catalogue {
    ($($test:ident => $bug:expr,)*) => {
        $(
            #[test]
            fn $test() {
                finds_and_shrinks($bug);
            }
        )*

        #[test]
        fn every_bug_has_a_test() {
            let tested = [$($bug),*];
            for bug in Bug::ALL {
                assert!(tested.contains(&bug), "no test for {bug}");
            }
        }
    };
}

catalogue! {
    forwarding_loop => Bug::ForwardingLoop,
    stale_overwrite => Bug::StaleOverwrite,
    no_reconnect => Bug::NoReconnect,
    no_reconciliation => Bug::NoReconciliation,
    no_dead_link_detection => Bug::NoDeadLinkDetection,
    radius_in_kilometres => Bug::RadiusInKilometres,
    at_from_clients => Bug::AtFromClients,
    float_skew => Bug::FloatSkew,
    ack_before_flood => Bug::AckBeforeFlood,
}
