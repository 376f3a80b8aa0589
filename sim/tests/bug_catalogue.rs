//! The explorer finds every bug of the catalogue (herd::bugs), and each
//! has a shrunk scenario in scenarios/ that fails with the bug and passes
//! without it. A sweep to first detection is too slow for every test run,
//! so each bug names the first seed of `herd-sim explore --bug NAME --seeds
//! 0..200` that fails (docs/explorer.md); this test runs that seed's drawn
//! scenario with the bug, and the committed shrunk scenario with and
//! without it. A bug no seed of that sweep catches names no seed, and only
//! its hand-written scenario is run. One bug goes through the whole
//! pipeline (sweep, written file, replay, shrink) to keep that covered too.

use std::path::{Path, PathBuf};

use herd::bugs::Bug;
use herd_sim::explore::generate::generate;
use herd_sim::explore::{explore, Config};
use herd_sim::scenario;
use herd_sim::{run, Options};

fn with(bug: Option<Bug>) -> Options {
    Options {
        bug,
        lean: true,
        ..Options::default()
    }
}

fn scenario_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sim/ is inside the workspace")
        .join("scenarios")
        .join(format!("{name}.toml"))
}

/// The explorer's draw for `seed`, if any, fails with `bug`; the scenario
/// `file` fails with it, in the same class, and passes without it.
fn caught(bug: Bug, seed: Option<u64>, file: &str) {
    let path = scenario_file(file);
    let shrunk = scenario::load(&path).unwrap_or_else(|e| panic!("{bug}: {e}"));
    let failure = run(&shrunk, shrunk.seed, with(Some(bug)))
        .failure
        .unwrap_or_else(|| panic!("{bug}: {} passes with the bug", path.display()));
    if let Some(seed) = seed {
        let drawn = generate(seed, None, Some(bug)).scenario;
        let found = run(&drawn, seed, with(Some(bug)))
            .failure
            .unwrap_or_else(|| panic!("{bug}: seed {seed} passes with the bug"));
        assert_eq!(
            failure.violation.kind(),
            found.violation.kind(),
            "{bug}: {failure:?}"
        );
    }
    let without = run(&shrunk, shrunk.seed, with(None));
    assert!(
        without.failure.is_none(),
        "{bug}: {} fails without the bug: {:?}",
        path.display(),
        without.failure
    );
}

#[test]
fn the_explorer_finds_writes_and_shrinks_a_bug() {
    let bug = Bug::ForwardingLoop;
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bug_catalogue");
    let _ = std::fs::remove_dir_all(&out);
    let config = Config {
        seeds: 0..20,
        shard: (1, 1),
        herd: None,
        out,
        bug: Some(bug),
        keep_going: false,
        shrink_runs: 40,
        verbose: false,
        progress: false,
    };
    let mut log = Vec::new();
    let summary = explore(&config, &mut log).expect("explore writes its files");
    let log = String::from_utf8_lossy(&log);
    let finding = summary
        .findings
        .first()
        .unwrap_or_else(|| panic!("{bug} not found:\n{log}"));
    assert!(finding.replayed, "the written scenario does not replay:\n{log}");
    let (path, steps) = finding.shrunk.clone().expect("a shrunk scenario");
    let whole = scenario::load(&finding.file).expect("the whole scenario loads");
    assert!(steps < whole.steps.len(), "shrinking removed nothing:\n{log}");
    let shrunk = scenario::load(&path).expect("the shrunk scenario loads");
    let failure = run(&shrunk, shrunk.seed, with(Some(bug)))
        .failure
        .expect("fails with the bug");
    assert_eq!(failure.violation.kind(), finding.class, "{log}");
    assert!(run(&shrunk, shrunk.seed, with(None)).failure.is_none(), "{log}");
}

macro_rules! catalogue {
    (@seed) => { None };
    (@seed $seed:literal) => { Some($seed) };
    ($($test:ident => $bug:ident $(at $seed:literal)? in $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                caught(Bug::$bug, catalogue!(@seed $($seed)?), $file);
            }
        )*

        #[test]
        fn every_bug_has_a_test() {
            let tested = [$(Bug::$bug),*];
            for bug in Bug::ALL {
                assert!(tested.contains(bug), "no test for {bug}");
            }
        }
    };
}

catalogue! {
    forwarding_loop => ForwardingLoop at 0 in "caught_forwarding_loop",
    stale_overwrite => StaleOverwrite at 1 in "caught_stale_overwrite",
    no_reconnect => NoReconnect at 0 in "caught_no_reconnect",
    no_reconciliation => NoReconciliation at 0 in "caught_no_reconciliation",
    no_dead_link_detection => NoDeadLinkDetection at 0 in "caught_no_dead_link_detection",
    radius_in_kilometres => RadiusInKilometres at 0 in "caught_radius_in_kilometres",
    at_from_clients => AtFromClients at 1 in "caught_at_from_clients",
    float_skew => FloatSkew at 0 in "caught_float_skew",
    ack_before_flood => AckBeforeFlood at 22 in "caught_ack_before_flood",
    zero_heartbeat => ZeroHeartbeat at 9 in "regression_zero_heartbeat",
    zero_backoff => ZeroBackoff at 1 in "regression_zero_backoff",
    backoff_reset_on_connect => BackoffResetOnConnect at 3 in "regression_backoff_reset_on_connect",
    unbounded_idle_timeout => UnboundedIdleTimeout at 6 in "regression_huge_idle_timeout",
    long_peer_line_drops_link => LongPeerLineDropsLink at 133 in "regression_long_peer_line",
    hello_unverified => HelloUnverified at 2 in "abusive_hello_wiretap",
    squatter_trusted => SquatterTrusted at 3 in "abusive_squatter",
    future_time_accepted => FutureTimeAccepted at 0 in "abusive_far_future_time",
    key_echo => KeyEcho at 0 in "abusive_key_echo",
    float_range_check => FloatRangeCheck at 27 in "abusive_out_of_range_decimals",
    uncoalesced_resync => UncoalescedResync at 19 in "abusive_resync_spam",
    full_refuses_newcomers => FullRefusesNewcomers at 5 in "abusive_idle_hoarders",
    link_slots_held => LinkSlotsHeld in "abusive_lockout",
    queue_overflow_drops_link => QueueOverflowDropsLink at 52 in "abusive_pipelined_flood",
    ack_timer_on_read => AckTimerOnRead at 18 in "caught_ack_timer_on_read",
    older_iamat_acked_early => OlderIamatAckedEarly at 128 in "caught_older_iamat_acked_early",
    whole_dump => WholeDump at 83 in "regression_whole_dump",
}
