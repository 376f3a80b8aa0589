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
    step: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A step as the file spells it: `do` first, then the action's fields in
/// their declared order (serde_json keeps the order; toml's own table
/// would sort the keys). Absent options are left out.
fn step(action: &Action) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let serde_json::Value::Object(tagged) = serde_json::to_value(action).map_err(|e| e.to_string())? else {
        return Err("an action is a table".into());
    };
    let mut out = serde_json::Map::new();
    for (name, fields) in tagged {
        out.insert("do".into(), serde_json::Value::String(name));
        if let serde_json::Value::Object(fields) = fields {
            out.extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
        }
    }
    Ok(out)
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
        step: scenario
            .steps
            .iter()
            .map(|s| step(&s.action))
            .collect::<Result<_, _>>()?,
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
