//! What a scenario's `[world]` table adds to its herd: the herd secret
//! every server gets in its environment, tuning the servers check
//! themselves at start (as `herd serve` checks its file at load, with the
//! run's bug), per-server tuning (a herd in the middle of a config
//! rollout), and legal perturbations of the links (`Perturb`).

use std::collections::BTreeMap;

use herd::bugs::{Bug, Bugs};
use herd::config::{HerdConfig, Tuning};
use serde::{Deserialize, Serialize};
use toml::Table;

/// Perturbations of every link connection (server to server, never a
/// client's): what real TCP may do to a stream without breaking it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Perturb {
    /// Bytes a link connection carries per simulated ms; 0 for no limit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bandwidth_bytes_per_ms: u64,
    /// Most bytes one write takes (the writer sees a partial write); 0 for all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub write_max_bytes: u64,
    /// Most bytes one read hands over; 0 for all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read_max_bytes: u64,
    /// A reader that got data waits this long before its next read (a slow
    /// reader); 0 for none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub read_pause_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Perturb {
    pub fn is_calm(&self) -> bool {
        *self == Perturb::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSetup {
    /// `HERD_SECRET` of every server; none: links trust names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The message with which the servers must refuse their tuning at
    /// start; a build that accepts it runs the steps instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Tuning every server starts with, checked by the servers, not the
    /// scenario loader (so a value the checker refuses can be written).
    #[serde(default, skip_serializing_if = "Table::is_empty")]
    pub tuning: Table,
    /// Tuning of one server on top of that, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tuning_of: BTreeMap<String, Table>,
    #[serde(default, skip_serializing_if = "Perturb::is_calm")]
    pub perturb: Perturb,
}

/// `tuning` with the settings of `table` put in, unchecked.
pub fn with_tuning(tuning: &Tuning, table: &Table) -> Result<Tuning, String> {
    if table.is_empty() {
        return Ok(tuning.clone());
    }
    let mut merged = Table::try_from(tuning).map_err(|e| e.to_string())?;
    merged.extend(table.clone());
    Tuning::deserialize(merged).map_err(|e| format!("world.tuning: {}", e.message()))
}

impl WorldSetup {
    /// The herd as `server` runs it: its own tuning on top of the herd's.
    pub fn herd_of(&self, herd: &HerdConfig, server: &str) -> HerdConfig {
        let mut own = herd.clone();
        if let Some(table) = self.tuning_of.get(server) {
            // Checked when the scenario loaded; see `check`.
            own.tuning = with_tuning(&herd.tuning, table).unwrap_or_else(|_| herd.tuning.clone());
        }
        own
    }

    /// Each server checks its tuning at start, as `herd serve` does at
    /// load; the first refusal, named by server.
    pub fn check(&self, herd: &HerdConfig, bug: Option<Bug>) -> Result<(), String> {
        for server in &herd.servers {
            let own = self.herd_of(herd, &server.name);
            HerdConfig::check_tuning(&own.tuning, Bugs::with(bug))?;
        }
        Ok(())
    }

    /// Names used are servers of the herd, and every table reads as tuning.
    pub fn validate(&self, herd: &HerdConfig) -> Result<(), String> {
        for (name, table) in &self.tuning_of {
            if herd.server(name).is_none() {
                return Err(format!("world.tuning_of: {name:?} is not a server of this herd"));
            }
            with_tuning(&herd.tuning, table)?;
        }
        Ok(())
    }
}
