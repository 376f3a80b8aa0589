//! The read-your-writes scenarios pass on the herd as it is (the suite runs
//! them), and each catches a server that acknowledges before it floods
//! (`ack-before-flood`, what the herd did before SPEC §6): with that bug,
//! each fails with the violation it is written to catch.

use std::path::Path;

use herd::bugs::Bug;
use herd_sim::scenario;
use herd_sim::{run, Options, ViolationKind};

fn fails_with(name: &str, expected: ViolationKind) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.toml"));
    let scenario = scenario::load(&path).expect("the scenario loads");
    let options = Options {
        bug: Some(Bug::AckBeforeFlood),
        ..Options::default()
    };
    let report = run(&scenario, scenario.seed, options);
    let failure = report
        .failure
        .unwrap_or_else(|| panic!("{name} passes with ack-before-flood"));
    assert_eq!(failure.violation.kind(), expected, "{}", failure.message());
}

#[test]
fn a_stale_read_right_after_the_ack() {
    fails_with("read_your_writes_after_ack", ViolationKind::StaleRead);
}

#[test]
fn the_update_dies_with_its_origin() {
    fails_with(
        "read_your_writes_survive_origin_crash",
        ViolationKind::NotConverged,
    );
}

#[test]
fn a_stale_read_while_a_neighbour_is_cut_off() {
    fails_with(
        "read_your_writes_with_a_neighbour_cut_off",
        ViolationKind::StaleRead,
    );
}
