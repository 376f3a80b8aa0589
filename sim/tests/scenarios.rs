//! Every file in scenarios/ and scenarios/conformance/ (the suite that
//! grades real herds, docs/external.md) is a test case of its own: it must
//! pass with its default seed (its own `expect`, `holds` and `converged` steps and the
//! simulator's checks do the judging) and give a byte-identical trace when
//! run twice. A new scenario file is a new test. The few scenarios whose
//! interleaving is the point also match a snapshot of their whole trace in
//! snapshots/.

use std::path::{Path, PathBuf};

use herd_sim::{cli, scenario};
use herd_sim::{run, FailureKind, Options};
use libtest_mimic::{Arguments, Failed, Trial};

/// Scenarios whose whole trace is pinned: which update wins a race, what a
/// late delivery does, the order a crashed hub's links close in, what the
/// neighbours of a silently dead server notice and when.
const SNAPSHOTS: [&str; 4] = [
    "crash_and_restart_hub",
    "newest_wins_when_two_servers_update_at_once",
    "out_of_order_delivery",
    "silent_death",
];

fn root() -> PathBuf {
    // The workspace root, where scenarios/ and snapshots/ live.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sim/ is inside the workspace")
        .to_path_buf()
}

fn check(path: &Path) -> Result<(), Failed> {
    let scenario = scenario::load(path).map_err(|e| e.to_string())?;
    let first = run(&scenario, scenario.seed, Options::default());
    if let Some(f) = &first.failure {
        return Err(format!(
            "{} at {}: {}\nreproduce: cargo run -p herd-sim -- run {} --seed {}",
            match f.kind() {
                FailureKind::Safety => "wrong answer or broken invariant",
                FailureKind::Liveness => "no convergence",
            },
            f.place,
            f.message(),
            scenario.path,
            scenario.seed
        )
        .into());
    }
    let second = run(&scenario, scenario.seed, Options::default());
    if first.trace != second.trace {
        let at = first
            .trace
            .lines()
            .zip(second.trace.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!(
            "two runs with seed {} differ from trace line {}",
            scenario.seed,
            at + 1
        )
        .into());
    }
    if SNAPSHOTS.contains(&scenario.name.as_str()) {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(root().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(scenario.description.clone());
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(scenario.name.clone(), first.trace));
    }
    Ok(())
}

/// The scenario files in `dir`, as `herd-sim run dir` finds them.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    cli::scenario_files(&[dir.to_path_buf()]).unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let args = Arguments::from_args();
    let files = scenario_files(&root().join("scenarios"));
    let conformance = scenario_files(&root().join("scenarios/conformance"));
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap_or_default().to_string_lossy().into_owned())
        .collect();
    let mut trials = vec![Trial::test(
        "every_snapshotted_scenario_exists",
        move || match SNAPSHOTS.iter().find(|s| !names.iter().any(|n| n == *s)) {
            Some(missing) => {
                Err(format!("scenarios/{missing}.toml is gone; its snapshot is not checked").into())
            }
            None => Ok(()),
        },
    )];
    let suites = [("", files), ("conformance/", conformance)];
    trials.extend(suites.into_iter().flat_map(|(prefix, files)| {
        files.into_iter().map(move |path| {
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            Trial::test(format!("{prefix}{name}"), move || check(&path))
        })
    }));
    libtest_mimic::run(&args, trials).exit();
}
