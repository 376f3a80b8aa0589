//! Same scenario, same seed, same trace, whatever the process did before.
//! tokio numbers tasks from one process-wide counter, and when turmoil
//! crashes a host it drops the host's tasks in an order that follows those
//! numbers; the simulator closes a crashed server's sockets in the order
//! they were opened instead (sim/src/world/net.rs). So a crash scenario
//! replays byte for byte after any number of unrelated tasks.

use std::path::Path;

use herd_sim::observe::{Fault, Note, Record, What};
use herd_sim::scenario;
use herd_sim::{run, Options};

/// Spawns `n` tasks that do nothing, moving tokio's task counter on.
fn stray_tasks(n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime builds");
    for _ in 0..n {
        drop(rt.spawn(async {}));
    }
}

#[test]
fn a_crash_replays_byte_for_byte_after_stray_tasks() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/crash_and_restart_hub.toml");
    let scenario = scenario::load(&path).expect("the scenario loads");
    let first = run(&scenario, scenario.seed, Options::default());
    assert!(first.failure.is_none(), "{:?}", first.failure);
    let crashes = |r: &Record| matches!(r.what, What::Driver(Note::Fault(Fault::Crash { .. })));
    assert!(first.records.iter().any(crashes), "the scenario crashes a server");
    // A task counter at each of its four shards, and then some.
    for stray in 1..=5 {
        stray_tasks(stray);
        let again = run(&scenario, scenario.seed, Options::default());
        if let Some(line) = first
            .trace
            .lines()
            .zip(again.trace.lines())
            .position(|(a, b)| a != b)
        {
            panic!(
                "after {stray} stray tasks the trace differs from line {}",
                line + 1
            );
        }
        assert_eq!(first.trace, again.trace, "after {stray} stray tasks");
    }
}
