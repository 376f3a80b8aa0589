//! Reading a scenario file: TOML with every mistake reported by file,
//! line and column.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use super::check::check_action;
use super::{yes, Action, Network, Scenario, Step};
use crate::world::herd_config::sim_herd;
use crate::world::setup::{with_tuning, WorldSetup};

#[derive(Debug, Error)]
pub enum ScenarioError {
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    Read { file: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: String,
    #[serde(default)]
    seed: u64,
    /// An inline herd, shaped like a herd config file; the default herd
    /// when absent.
    herd: Option<Spanned<toml::Table>>,
    /// Overrides of the simulator's (shorter than production) timings.
    tuning: Option<Spanned<toml::Table>>,
    network: Option<Spanned<Network>>,
    end_ms: Option<u64>,
    #[serde(default = "yes")]
    trace_messages: bool,
    world: Option<Spanned<WorldSetup>>,
    #[serde(default, rename = "step")]
    steps: Vec<Spanned<Action>>,
}

pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let name = path
        .file_stem()
        .map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
    parse(&text, &file, &name)
}

/// Parses and checks a scenario; `file` names it in errors.
pub fn parse(text: &str, file: &str, name: &str) -> Result<Scenario, ScenarioError> {
    let invalid = |span: Range<usize>, message: String| {
        let (line, column) = line_column(text, span.start);
        ScenarioError::Invalid {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let raw: RawScenario =
        toml::from_str(text).map_err(|e| invalid(e.span().unwrap_or(0..0), e.message().to_string()))?;
    let herd_span = raw.herd.as_ref().map_or(0..0, |h| h.span());
    let mut herd = sim_herd(
        raw.herd.map(Spanned::into_inner),
        raw.tuning.as_ref().map(|t| t.get_ref().clone()),
    )
    .map_err(|message| invalid(herd_span.clone(), message))?;
    let world_span = raw.world.as_ref().map_or(0..0, |w| w.span());
    let world = raw.world.map(Spanned::into_inner).unwrap_or_default();
    // The servers check the world's tuning when they start, with the run's bug.
    herd.tuning = with_tuning(&herd.tuning, &world.tuning).map_err(|m| invalid(world_span.clone(), m))?;
    world.validate(&herd).map_err(|m| invalid(world_span, m))?;
    let network_span = raw.network.as_ref().map_or(0..0, |n| n.span());
    let network = raw.network.map(Spanned::into_inner).unwrap_or_default();
    if network.latency_ms[0] > network.latency_ms[1] {
        return Err(invalid(
            network_span,
            "latency_ms must be [min, max] with min <= max".into(),
        ));
    }
    if !(0.0..=1.0).contains(&network.loss) {
        return Err(invalid(network_span, "loss must lie in [0, 1]".into()));
    }
    let servers: BTreeSet<&str> = herd.servers.iter().map(|s| s.name.as_str()).collect();
    let mut steps = Vec::new();
    let mut last_ms = 0;
    for step in raw.steps {
        let span = step.span();
        let action = step.into_inner();
        check_action(&action, &servers).map_err(|m| invalid(span.clone(), m))?;
        if action.at_ms() < last_ms {
            return Err(invalid(
                span,
                format!("at_ms {} is before the previous step's {last_ms}", action.at_ms()),
            ));
        }
        last_ms = action.at_ms();
        let (line, _) = line_column(text, span.start);
        steps.push(Step {
            at_ms: action.at_ms(),
            action,
            place: format!("{file}:{line}"),
        });
    }
    let end_ms = raw.end_ms.unwrap_or(last_ms + 1_000).max(last_ms);
    Ok(Scenario {
        name: name.to_string(),
        path: file.to_string(),
        description: raw.description,
        seed: raw.seed,
        herd,
        network,
        steps,
        end_ms,
        trace_messages: raw.trace_messages,
        world,
    })
}

pub use herd::config::line_column;
