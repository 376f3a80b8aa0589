//! A short sweep of the swarm explorer on the fixed server, run with every
//! test run: any seed that fails is a bug in the server or the simulator.
//! Long sweeps belong to the command line (`herd-sim explore --seeds A..B
//! --shard i/n`, as .github/workflows/sweep.yml runs them);
//! `HERD_EXPLORE_SEEDS=A..B` and `HERD_EXPLORE_SHARD=i/n` widen this one.

use std::path::PathBuf;

use herd_sim::explore::cli::{parse_seeds, parse_shard};
use herd_sim::explore::{explore, Config};

/// Enough seeds to draw every topology shape and several stresses, few
/// enough for a debug build in CI.
const DEFAULT_SEEDS: &str = "0..6";

fn from_env<T>(name: &str, default: &str, parse: fn(&str) -> Result<T, String>) -> T {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_sweep_of_the_fixed_server_finds_nothing() {
    let config = Config {
        seeds: from_env("HERD_EXPLORE_SEEDS", DEFAULT_SEEDS, parse_seeds),
        shard: from_env("HERD_EXPLORE_SHARD", "1/1", parse_shard),
        herd: None,
        out: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explore_sweep"),
        bug: None,
        keep_going: false,
        shrink_runs: 400,
        verbose: false,
        progress: false,
    };
    let mut log = Vec::new();
    let summary = explore(&config, &mut log).expect("explore writes its files");
    let log = String::from_utf8_lossy(&log);
    assert!(summary.seeds_run > 0, "{log}");
    assert!(summary.findings.is_empty(), "{log}");
}
