//! Scenarios in scenarios/pending/ show promises the server does not keep
//! yet (acknowledging only after flooding, SPEC §6), so the suite does not
//! run them. Each must still load and run the same way twice, and may only
//! fail with the violation it is written to catch; once one passes, it
//! belongs in scenarios/.

use std::path::{Path, PathBuf};

use herd_sim::scenario;
use herd_sim::{run, Options, ViolationKind};
use libtest_mimic::{Arguments, Failed, Trial};

/// The one violation each pending scenario may fail with today.
const PENDING: [(&str, ViolationKind); 3] = [
    ("read_your_writes_after_ack", ViolationKind::StaleRead),
    (
        "read_your_writes_survive_origin_crash",
        ViolationKind::NotConverged,
    ),
    (
        "read_your_writes_with_a_neighbour_cut_off",
        ViolationKind::StaleRead,
    ),
];

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/pending")
}

fn check(name: &str, allowed: ViolationKind) -> Result<(), Failed> {
    let path = folder().join(format!("{name}.toml"));
    let scenario = scenario::load(&path).map_err(|e| e.to_string())?;
    let first = run(&scenario, scenario.seed, Options::default());
    let again = run(&scenario, scenario.seed, Options::default());
    if first.trace != again.trace {
        return Err("two runs with the same seed differ".into());
    }
    match &first.failure {
        Some(f) if f.violation.kind() != allowed => Err(format!(
            "fails with {} instead of {allowed}: {}",
            f.violation.kind(),
            f.message()
        )
        .into()),
        _ => Ok(()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = PENDING
        .iter()
        .map(|&(name, allowed)| Trial::test(name, move || check(name, allowed)))
        .collect();
    trials.push(Trial::test("every_pending_scenario_is_listed", || {
        let listed = |name: &str| PENDING.iter().any(|(n, _)| *n == name);
        for entry in std::fs::read_dir(folder()).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if path.extension().is_some_and(|e| e == "toml") && !listed(&name) {
                return Err(format!("{} is not listed in sim/tests/pending.rs", path.display()).into());
            }
        }
        Ok(())
    }));
    libtest_mimic::run(&args, trials).exit();
}
