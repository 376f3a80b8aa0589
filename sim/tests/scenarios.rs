//! Every file in scenarios/ is a test case of its own: it must pass with
//! its default seed, give a byte-identical trace when run twice, and match
//! its trace snapshot in snapshots/. A new scenario file is a new test.

use std::path::{Path, PathBuf};

use herd_sim::run::{run, Options};
use herd_sim::scenario;
use libtest_mimic::{Arguments, Failed, Trial};

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
            "{} at {}: {}\nreproduce: cargo run -p herd-sim -- run scenarios/{}.toml --seed {}",
            match f.kind {
                herd_sim::run::FailureKind::Safety => "wrong answer or broken invariant",
                herd_sim::run::FailureKind::Liveness => "no convergence",
            },
            f.place,
            f.message,
            scenario.name,
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
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description(scenario.description.clone());
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(scenario.name.clone(), first.trace));
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Trial::test(name, move || check(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
