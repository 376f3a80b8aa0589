//! The `run` and `mutate` commands (`explore` has its own, in
//! `explore/cli.rs`): their arguments, and what they load and print.
//! Exit codes are in docs/scenarios.md.

pub mod mutate;
pub mod run;

use std::path::PathBuf;

use clap::Args;

use crate::scenario::{self, Scenario};

/// A scenario failed a safety check: a wrong answer or a broken invariant.
pub const EXIT_SAFETY: u8 = 1;
/// A scenario failed only liveness: the herd did not converge in time.
pub const EXIT_LIVENESS: u8 = 2;
/// Bad usage, or a scenario file that does not parse or check.
pub const EXIT_USAGE: u8 = 3;

/// The scenarios a command runs, and with which seed.
#[derive(Args, Debug)]
pub struct ScenarioArgs {
    /// Scenario files, or folders of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Run every scenario with this seed instead of its own.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ScenarioArgs {
    /// The scenarios named; `None` after printing why they cannot be run.
    pub fn load(&self) -> Option<Vec<Scenario>> {
        load_all(&self.paths).map_err(|e| eprintln!("error: {e}")).ok()
    }
}

/// Every scenario named, loaded (see `scenario_files`).
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, String> {
    scenario_files(paths)?
        .iter()
        .map(|f| scenario::load(f).map_err(|e| e.to_string()))
        .collect()
}

/// Every scenario file named: files as given, folders as every `*.toml` in
/// them, sorted. A folder with none, or no scenario at all, is an error: a
/// command that runs nothing must not look like one that passed.
pub fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("cannot list {}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{}: no scenario files (*.toml) in this folder",
                    path.display()
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err("no scenario files given".into());
    }
    Ok(files)
}
