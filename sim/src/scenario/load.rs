//! Reading a scenario file: TOML with every mistake reported by file,
//! line and column. The steps are read one by one (`steps.rs`), expanded,
//! put in time order and checked against each other (`refs.rs`).

use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::names::{did_you_mean, fields};
use super::steps::{self, reword, Located};
use super::{refs, yes, Action, Network, Scenario, Step};
use crate::world::herd_config::sim_herd;
use crate::world::setup::{with_tuning, WorldSetup};
use herd::config::Tuning;

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

/// The file's keys besides its steps.
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
    let located = |e: Located| invalid(e.span, e.message);
    let root =
        DeTable::parse(text).map_err(|e| invalid(e.span().unwrap_or(0..0), e.message().to_string()))?;
    let root_span = root.span();
    let mut table = root.into_inner();
    let steps = table.remove("step");
    let raw = top_level(&table, root_span).map_err(located)?;
    let herd_span = raw.herd.as_ref().map_or(0..0, |h| h.span());
    let mut herd = sim_herd(
        raw.herd.map(Spanned::into_inner),
        raw.tuning.as_ref().map(|t| t.get_ref().clone()),
    )
    .map_err(|message| {
        // The herd checker names a tuning key; a top-level [tuning] one is
        // pointed at where it is.
        let key = message
            .strip_prefix("herd: tuning.")
            .and_then(|rest| rest.split([' ', ':']).next());
        match key.and_then(|k| value_at(&table, "tuning", k)) {
            Some(span) => invalid(span, message.trim_start_matches("herd: ").to_string()),
            None => invalid(herd_span.clone(), message),
        }
    })?;
    let world_span = raw.world.as_ref().map_or(0..0, |w| w.span());
    let world = raw.world.map(Spanned::into_inner).unwrap_or_default();
    // The servers check the world's tuning when they start, with the run's bug.
    herd.tuning = with_tuning(&herd.tuning, &world.tuning).map_err(|m| invalid(world_span.clone(), m))?;
    world.validate(&herd).map_err(|m| invalid(world_span, m))?;
    let network = raw.network.map(Spanned::into_inner).unwrap_or_default();
    let bad_network = |key: &str, why: &str| {
        let span = value_at(&table, "network", key).unwrap_or(0..0);
        invalid(span, format!("network.{key}: {why}"))
    };
    if network.latency_ms[0] > network.latency_ms[1] {
        return Err(bad_network("latency_ms", "must be [min, max] with min <= max"));
    }
    if !(0.0..=1.0).contains(&network.loss) {
        return Err(bad_network("loss", "must lie in [0, 1]"));
    }
    let servers: Vec<&str> = herd.servers.iter().map(|s| s.name.as_str()).collect();
    let items: Vec<Spanned<DeValue>> = match steps {
        None => Vec::new(),
        Some(steps) => match steps.get_ref() {
            DeValue::Array(items) => items.to_vec(),
            _ => return Err(invalid(steps.span(), "step: steps are [[step]] tables".into())),
        },
    };
    let reads = items
        .iter()
        .enumerate()
        .map(|(i, item)| steps::read(i + 1, item, text, &servers))
        .collect::<Result<Vec<_>, _>>()
        .map_err(located)?;
    // Steps run in time order; steps at the same time, in file order.
    let mut timeline: Vec<(usize, Action)> = reads
        .iter()
        .enumerate()
        .flat_map(|(r, read)| read.expand().into_iter().map(move |a| (r, a)))
        .collect();
    timeline.sort_by_key(|(_, a)| a.at_ms());
    refs::check(&reads, &timeline).map_err(located)?;
    let steps: Vec<Step> = timeline
        .into_iter()
        .map(|(r, action)| Step {
            at_ms: action.at_ms(),
            action,
            place: format!("{file}:{}", line_column(text, reads[r].source.span.start).0),
        })
        .collect();
    let last_ms = steps.last().map_or(0, |s| s.at_ms);
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

/// The keys besides the steps, each unknown key or bad value at its place.
fn top_level(table: &DeTable, span: Range<usize>) -> Result<RawScenario, Located> {
    let known = fields::<RawScenario>(None);
    let mut keys: Vec<(String, Range<usize>, &[&str])> = table
        .keys()
        .map(|k| (k.get_ref().to_string(), k.span(), known))
        .collect();
    for (name, known) in [
        ("network", fields::<Network>(None)),
        ("tuning", fields::<Tuning>(None)),
        ("world", fields::<WorldSetup>(None)),
    ] {
        let sub = table.get(name).and_then(|n| n.get_ref().as_table());
        for key in sub.into_iter().flat_map(|t| t.keys()) {
            keys.push((format!("{name}.{}", key.get_ref()), key.span(), known));
        }
    }
    keys.sort_by_key(|(_, span, _)| span.start);
    for (key, span, known) in keys {
        let last = key.rsplit('.').next().unwrap_or(&key);
        if !known.contains(&last) {
            let hint = did_you_mean(last, known.iter().copied());
            let takes = known.join(", ");
            let steps = if key.contains('.') {
                ""
            } else {
                "; steps are [[step]] tables"
            };
            let message = format!("{key}: unknown key{hint} (keys here: {takes}{steps})");
            return Err(Located { span, message });
        }
    }
    let value = Spanned::new(span.clone(), DeValue::Table(table.clone()));
    RawScenario::deserialize(ValueDeserializer::from(value)).map_err(|e| {
        let at = e.span().unwrap_or(span);
        let key = table
            .iter()
            .find(|(k, v)| v.span().start <= at.start && at.end <= v.span().end || k.span() == at)
            .map(|(k, _)| k.get_ref().to_string());
        let message = match key {
            Some(key) => format!("{key}: {}", reword(e.message())),
            None if e.message().contains("`description`") => {
                "missing description = \"...\": one sentence saying what the scenario shows".to_string()
            }
            None => reword(e.message()),
        };
        Located { span: at, message }
    })
}

/// Where the value of `key` in the table `table` is.
fn value_at(root: &DeTable, table: &str, key: &str) -> Option<Range<usize>> {
    let sub = root.get(table)?.get_ref().as_table()?;
    Some(sub.get(key)?.span())
}

pub use herd::config::line_column;
