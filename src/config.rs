//! The herd configuration: server names, addresses and links, from a TOML
//! file or the built-in default herd. Nothing about a herd lives in code.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::protocol::ClientLimits;

/// The herd of SPEC.md §1, as a config file would spell it.
pub const DEFAULT_HERD_TOML: &str = include_str!("default_herd.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct HerdConfig {
    pub servers: Vec<ServerSpec>,
    /// Each link once, as (smaller name, larger name).
    pub links: BTreeSet<(String, String)>,
    pub tuning: Tuning,
    pub log: LogSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub name: String,
    pub host: String,
    /// The client port.
    pub port: u16,
    /// The port neighbours open links to. `None`: the server picks a free
    /// one at start, and neighbours ask for it on the client port
    /// (docs/protocol.md, "One server per port").
    pub link_port: Option<u16>,
}

/// The `[log]` table: what each server's log file keeps, and how big it may grow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `info` (every line received and sent, links, Places) or `debug`
    /// (heartbeats and store changes too). `RUST_LOG` overrides it.
    pub level: String,
    /// A log file is rotated when it reaches this size.
    pub max_file_bytes: u64,
    /// Rotated files kept besides the live one; older ones are deleted.
    pub max_files: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".to_string(),
            max_file_bytes: 64 << 20,
            max_files: 4,
        }
    }
}

/// Limits and timings. Every one has a default; a config file may override
/// any of them in its `[tuning]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tuning {
    /// Longest client line accepted, in bytes, line ending excluded.
    pub max_line_bytes: usize,
    /// Most client connections a server serves at once; past it, new
    /// connections are closed unless they are a neighbour's link.
    pub max_connections: usize,
    /// A connection with no byte at all for this long is closed.
    pub idle_timeout_ms: u64,
    /// A line started but not finished within this long closes the connection.
    pub line_timeout_ms: u64,
    /// How often each side of a link sends a heartbeat when it has nothing else to say.
    pub heartbeat_ms: u64,
    /// A link with nothing received for this long is declared dead and rebuilt.
    pub dead_after_ms: u64,
    /// First reconnect delay; doubles on each failure up to `backoff_max_ms`.
    pub backoff_min_ms: u64,
    pub backoff_max_ms: u64,
    /// Updates queued for one neighbour before the link is dropped (it then
    /// reconnects and catches up, so nothing is lost).
    pub link_queue: usize,
    /// Deadline for one Places request, connect to last byte.
    pub places_timeout_ms: u64,
    /// `plain` sends each new update to every neighbour but the one it came
    /// from; `pruned` also skips neighbours the update says were sent it.
    pub flooding: Flooding,
    /// `herd`: an AT reply goes out once every reachable server holds the
    /// update; `local`: as soon as this server holds it (faster, weaker).
    pub ack: AckMode,
    /// How long a silent neighbour may hold up an acknowledgement.
    pub ack_timeout_ms: u64,
    /// Most clients a store holds; past it, the oldest client time goes.
    pub max_clients: usize,
    /// Longest client ID accepted, in bytes.
    pub max_client_id_bytes: usize,
    /// Client times further ahead of the server's clock than this are refused.
    pub max_future_ms: u64,
    /// A connection on the link port must prove it is a neighbour within this.
    pub handshake_timeout_ms: u64,
    /// Updates per write of a catch-up dump.
    pub catch_up_chunk: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckMode {
    #[default]
    Herd,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flooding {
    #[default]
    Plain,
    Pruned,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            max_line_bytes: 4096,
            max_connections: 1024,
            idle_timeout_ms: 300_000,
            line_timeout_ms: 30_000,
            heartbeat_ms: 1_000,
            dead_after_ms: 3_500,
            backoff_min_ms: 100,
            backoff_max_ms: 5_000,
            link_queue: 4096,
            places_timeout_ms: 5_000,
            flooding: Flooding::Plain,
            ack: AckMode::Herd,
            ack_timeout_ms: 2_000,
            max_clients: 1_000_000,
            max_client_id_bytes: 256,
            max_future_ms: 86_400_000,
            handshake_timeout_ms: 2_000,
            catch_up_chunk: 512,
        }
    }
}

impl Tuning {
    /// The limits a parsed client command is checked against.
    pub fn client_limits(&self) -> ClientLimits {
        ClientLimits {
            max_client_id_bytes: self.max_client_id_bytes,
            max_future_ms: self.max_future_ms,
        }
    }
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
    link_port: Option<u16>,
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
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid(e.span(), e.message().to_string()))?;
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
                link_port: s.link_port,
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
        Ok(Self {
            servers,
            links,
            tuning: raw.tuning,
            log: raw.log,
        })
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

    /// The same herd written back as TOML (what `herd config` prints).
    pub fn to_toml(&self) -> String {
        // Top-level keys must come before the first table in TOML.
        let mut out = String::from("links = [\n");
        for (a, b) in &self.links {
            out += &format!("  [{a:?}, {b:?}],\n");
        }
        out += "]\n";
        for s in &self.servers {
            out += &format!(
                "\n[[server]]\nname = {:?}\nhost = {:?}\nport = {}\n",
                s.name, s.host, s.port
            );
        }
        out
    }
}

/// 1-based line and column of a byte offset (the simulator's scenario
/// loader reports its errors the same way).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
