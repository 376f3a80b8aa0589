//! A sweep of the fault explorer as 16 tests, one per shard, so that
//! `cargo nextest run --partition count:i/n` spreads one sweep over
//! several machines (docs/explorer.md). Ignored by default: run with
//! `--ignored` (or nextest's `--run-ignored only`), seeds from
//! `HERD_EXPLORE_SEEDS` (`A..B`, default `0..160`).

use std::path::PathBuf;

use herd_sim::explore::{explore, Config};
use libtest_mimic::{Arguments, Failed, Trial};

const SHARDS: u64 = 16;

fn seeds() -> std::ops::Range<u64> {
    let text = std::env::var("HERD_EXPLORE_SEEDS").unwrap_or_else(|_| "0..160".into());
    let (a, b) = text
        .split_once("..")
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .unwrap_or_else(|| panic!("HERD_EXPLORE_SEEDS={text:?} is not A..B"));
    a..b
}

fn shard(i: u64) -> Result<(), Failed> {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("explore_sweep")
        .join(format!("shard_{i:02}"));
    let config = Config {
        seeds: seeds(),
        shard: (i, SHARDS),
        herd: None,
        out,
        bug: None,
        keep_going: false,
        shrink_runs: 400,
        verbose: false,
        progress: false,
    };
    let mut log = Vec::new();
    let summary = explore(&config, &mut log).map_err(|e| e.to_string())?;
    if summary.findings.is_empty() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&log).into_owned().into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let trials = (1..=SHARDS)
        .map(|i| Trial::test(format!("shard_{i:02}_of_{SHARDS}"), move || shard(i)).with_ignored_flag(true))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
