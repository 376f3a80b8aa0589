//! A `Scenario` written back as a scenario file, in the loader's format
//! (docs/scenarios.md), so `herd-sim run` replays it.

use serde::Serialize;

use super::{Action, Network, Scenario, WorldSetup};

#[derive(Serialize)]
struct File<'a> {
    description: &'a str,
    seed: u64,
    end_ms: u64,
    network: &'a Network,
    #[serde(skip_serializing_if = "Option::is_none")]
    herd: Option<&'a toml::Table>,
    #[serde(skip_serializing_if = "Option::is_none")]
    world: Option<&'a WorldSetup>,
    step: Vec<&'a Action>,
}

/// The scenario as TOML, after `comments` (each becomes a `# ` line).
/// `herd` is the inline herd to write; none means the default herd.
pub fn to_toml(
    scenario: &Scenario,
    herd: Option<&toml::Table>,
    comments: &[String],
) -> Result<String, String> {
    let file = File {
        description: &scenario.description,
        seed: scenario.seed,
        end_ms: scenario.end_ms,
        network: &scenario.network,
        herd,
        world: Some(&scenario.world).filter(|w| **w != WorldSetup::default()),
        step: scenario.steps.iter().map(|s| &s.action).collect(),
    };
    let body = toml::to_string(&file).map_err(|e| e.to_string())?;
    let mut out = String::new();
    for line in comments {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    if !comments.is_empty() {
        out.push('\n');
    }
    out.push_str(&body);
    Ok(out)
}
