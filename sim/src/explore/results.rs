//! What a sweep reports about each seed, for `explore --json FILE`.

use std::path::PathBuf;

use serde::Serialize;

use super::Finding;
use crate::driver::Report;
use crate::report::kind_name;

/// One seed: whether it passed, and for a failure what, where, and the
/// files written.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    pub seed: u64,
    pub pass: bool,
    pub sim_ms: u64,
    /// Steps of the generated scenario.
    pub steps: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<SeedFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SeedFailure {
    /// `safety` or `liveness`.
    pub kind: &'static str,
    pub class: &'static str,
    /// The generated step (`seed 7 step 12`), `invariant` or `simulation`.
    pub place: String,
    pub message: String,
    /// The whole scenario as a file; `None` until written.
    pub file: Option<PathBuf>,
    /// Whether running that file failed the same way.
    pub replayed: bool,
    pub shrunk: Option<PathBuf>,
    pub shrunk_steps: Option<usize>,
}

impl SeedResult {
    pub fn of(seed: u64, steps: usize, report: &Report) -> Self {
        let failure = report.failure.as_ref().map(|f| SeedFailure {
            kind: kind_name(f.kind()),
            class: f.violation.kind().name(),
            place: f.place.clone(),
            message: f.message(),
            file: None,
            replayed: false,
            shrunk: None,
            shrunk_steps: None,
        });
        Self {
            seed,
            pass: failure.is_none(),
            sim_ms: report.sim_ms,
            steps,
            failure,
        }
    }

    /// The files written for this failing seed.
    pub fn found(&mut self, finding: &Finding) {
        if let Some(f) = &mut self.failure {
            f.file = Some(finding.file.clone());
            f.replayed = finding.replayed;
            f.shrunk = finding.shrunk.as_ref().map(|(p, _)| p.clone());
            f.shrunk_steps = finding.shrunk.as_ref().map(|(_, n)| *n);
        }
    }
}
