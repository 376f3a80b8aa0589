//! The herd configuration: server names, addresses and links, from a TOML
//! file or the built-in default herd. Nothing about a herd lives in code.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use toml::Spanned;

use crate::bugs::Bugs;

mod check;
mod tuning;

pub use check::LOG_LEVELS;
pub use tuning::{AckMode, Flooding, LogSettings, Tuning};

/// The herd of SPEC.md §1, as a config file would spell it.
pub const DEFAULT_HERD_TOML: &str = include_str!("default_herd.toml");

/// A whole herd, as loaded and checked. Serialises to the file format
/// (`herd config` prints it), top-level keys before tables as TOML wants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HerdConfig {
    /// Each link once, as (smaller name, larger name).
    pub links: BTreeSet<(String, String)>,
    #[serde(rename = "server")]
    pub servers: Vec<ServerSpec>,
    pub tuning: Tuning,
    pub log: LogSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerSpec {
    pub name: String,
    pub host: String,
    /// The client port.
    pub port: u16,
    /// The port neighbours open links to. `None`: the server picks a free
    /// one at start, and neighbours ask for it on the client port
    /// (docs/protocol.md, "One server per port").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_port: Option<u16>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    // Not a `source`: the message already says it, and `{:#}` would repeat it.
    #[error("{file}: {error}")]
    Read { file: String, error: std::io::Error },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(rename = "server")]
    servers: Vec<Spanned<RawServer>>,
    #[serde(default)]
    links: Vec<Spanned<(Spanned<String>, Spanned<String>)>>,
    #[serde(default)]
    tuning: Tuning,
    #[serde(default)]
    log: LogSettings,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    name: Spanned<String>,
    #[serde(default = "default_host")]
    host: String,
    port: Spanned<u16>,
    link_port: Option<Spanned<u16>>,
}

fn default_host() -> String {
    "127.0.0.1".to_string()
}

impl HerdConfig {
    pub fn default_herd() -> Self {
        Self::from_toml(DEFAULT_HERD_TOML, "<default herd>").expect("the built-in herd is valid")
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            file: file.clone(),
            error,
        })?;
        Self::from_toml(&text, &file)
    }

    /// Parses and checks a herd; `file` names the source in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let invalid = |span: Option<Range<usize>>, message: String| {
            let (line, column) = line_column(text, span.map_or(0, |s| s.start));
            ConfigError::Invalid {
                file: file.to_string(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // toml names the field only when it is unknown or missing.
            let field = e.span().and_then(|s| check::field_at(text, &s));
            let message = match field {
                Some(field) => format!("{field}: {}", e.message()),
                None => e.message().to_string(),
            };
            invalid(e.span(), message)
        })?;
        let mut servers: Vec<ServerSpec> = Vec::new();
        for s in &raw.servers {
            let s = s.get_ref();
            let name = s.name.get_ref();
            // Commas separate names in the pruned-flooding `seen` list.
            if name.is_empty() || name.contains(',') || name.bytes().any(crate::protocol::is_field_space) {
                return Err(invalid(
                    Some(s.name.span()),
                    format!("server name {name:?} must be one word, without commas"),
                ));
            }
            if servers.iter().any(|o| &o.name == name) {
                return Err(invalid(
                    Some(s.name.span()),
                    format!("server {name:?} is defined twice"),
                ));
            }
            let port = *s.port.get_ref();
            if let Some(o) = servers
                .iter()
                .find(|o| o.host == s.host && o.port == port && port != 0)
            {
                return Err(invalid(
                    Some(s.port.span()),
                    format!("{name} and {} both use {}:{port}", o.name, s.host),
                ));
            }
            servers.push(ServerSpec {
                name: name.clone(),
                host: s.host.clone(),
                port,
                link_port: s.link_port.as_ref().map(|p| *p.get_ref()),
            });
        }
        if servers.is_empty() {
            return Err(invalid(None, "a herd needs at least one [[server]]".into()));
        }
        let mut links = BTreeSet::new();
        for link in &raw.links {
            let (a, b) = link.get_ref();
            for end in [a, b] {
                if !servers.iter().any(|s| &s.name == end.get_ref()) {
                    return Err(invalid(
                        Some(end.span()),
                        format!("link names unknown server {:?}", end.get_ref()),
                    ));
                }
            }
            let (a, b) = (a.get_ref().clone(), b.get_ref().clone());
            if a == b {
                return Err(invalid(Some(link.span()), format!("link from {a} to itself")));
            }
            links.insert(if a < b { (a, b) } else { (b, a) });
        }
        for (i, raw) in raw.servers.iter().enumerate() {
            if let Some(port) = &raw.get_ref().link_port {
                link_port_clash(i, &servers).map_err(|message| invalid(Some(port.span()), message))?;
            }
        }
        check::check(&raw.tuning, &raw.log, Bugs::default())
            .map_err(|refused| invalid(check::span_of(text, &refused.fields), refused.message))?;
        Ok(Self {
            links,
            servers,
            tuning: raw.tuning,
            log: raw.log,
        })
    }

    /// Checks `tuning` as a file's `[tuning]` is checked at load (the
    /// message names the setting and the values it may take). The
    /// simulator checks each server's tuning this way, with its bug.
    pub fn check_tuning(tuning: &Tuning, bugs: Bugs) -> Result<(), String> {
        check::check(tuning, &LogSettings::default(), bugs).map_err(|r| r.message)
    }

    /// The values the numeric setting `field` (`tuning.heartbeat_ms`, ...)
    /// may take, bounds included, as the load check has them.
    pub fn tuning_bounds(field: &str, bugs: Bugs) -> Option<(u64, u64)> {
        check::bounds(field, bugs)
    }

    pub fn server(&self, name: &str) -> Option<&ServerSpec> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The servers `name` keeps links with, in config order.
    pub fn neighbours(&self, name: &str) -> Vec<&ServerSpec> {
        self.servers
            .iter()
            .filter(|s| self.is_link(name, &s.name))
            .collect()
    }

    pub fn is_link(&self, a: &str, b: &str) -> bool {
        let key = if a < b { (a, b) } else { (b, a) };
        self.links.iter().any(|(x, y)| (x.as_str(), y.as_str()) == key)
    }

    /// The same herd written back as TOML (what `herd config` prints);
    /// it loads back to an equal herd.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

/// Why the link port of `servers[i]` cannot be, if it cannot: a client
/// port on the same host has it, or an earlier server's link port. Port 0
/// means "any free one", as for `port`.
fn link_port_clash(i: usize, servers: &[ServerSpec]) -> Result<(), String> {
    let spec = &servers[i];
    let Some(link_port) = spec.link_port.filter(|&p| p != 0) else {
        return Ok(());
    };
    let host = &spec.host;
    let same_host = |o: &&ServerSpec| &o.host == host;
    if let Some(other) = servers.iter().filter(same_host).find(|o| o.port == link_port) {
        let whose = if other.name == spec.name {
            "its own client port".to_string()
        } else {
            format!("the client port of {} on {host}", other.name)
        };
        return Err(format!("{}'s link_port {link_port} is {whose}", spec.name));
    }
    if let Some(other) = servers[..i]
        .iter()
        .filter(same_host)
        .find(|o| o.link_port == Some(link_port))
    {
        return Err(format!(
            "{} and {} both use link_port {link_port} on {host}",
            spec.name, other.name
        ));
    }
    Ok(())
}

/// 1-based line and column of a byte offset (the simulator's scenario
/// loader reports its errors the same way).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
