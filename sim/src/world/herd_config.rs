//! The herd a scenario runs: the default herd or an inline one, with the
//! simulator's shorter timings, and every server's host set to its own
//! name (each server is the turmoil host of that name).

use herd::config::{ConfigError, HerdConfig, DEFAULT_HERD_TOML};
use toml::{Table, Value};

/// Timings shorter than production so that failures are detected and
/// repaired within a few simulated seconds. A scenario's `[tuning]` (or its
/// herd's) overrides any of them.
fn sim_tuning() -> Table {
    let mut t = Table::new();
    for (key, value) in [
        ("heartbeat_ms", 250),
        ("dead_after_ms", 1_000),
        ("backoff_min_ms", 100),
        ("backoff_max_ms", 2_000),
        ("places_timeout_ms", 2_000),
        ("line_timeout_ms", 5_000),
        ("idle_timeout_ms", 60_000),
        ("ack_timeout_ms", 500),
        ("handshake_timeout_ms", 1_000),
    ] {
        t.insert(key.to_string(), Value::Integer(value));
    }
    t
}

/// Builds the herd from an inline table (or the default herd) and tuning
/// overrides. Errors are the herd checker's own message.
pub fn sim_herd(inline: Option<Table>, tuning: Option<Table>) -> Result<HerdConfig, String> {
    let mut herd = match inline {
        Some(table) => table,
        None => DEFAULT_HERD_TOML.parse::<Table>().map_err(|e| e.to_string())?,
    };
    let mut merged = sim_tuning();
    if let Some(Value::Table(own)) = herd.remove("tuning") {
        merged.extend(own);
    }
    merged.extend(tuning.unwrap_or_default());
    herd.insert("tuning".to_string(), Value::Table(merged));
    let text = toml::to_string(&herd).map_err(|e| e.to_string())?;
    let mut config = HerdConfig::from_toml(&text, "herd").map_err(|e| match e {
        ConfigError::Invalid { message, .. } => format!("herd: {message}"),
        other => other.to_string(),
    })?;
    for server in &mut config.servers {
        server.host = server.name.clone();
    }
    Ok(config)
}
