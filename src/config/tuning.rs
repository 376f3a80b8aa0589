//! The `[tuning]` and `[log]` tables: limits, timings and log settings,
//! each with a default a config file may override. What values each may
//! take is `check.rs`'s, and docs/protocol.md's "Limits" table.

use serde::{Deserialize, Serialize};

use crate::protocol::ClientLimits;

/// Limits and timings. Every one has a default; a config file may override
/// any of them in its `[tuning]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tuning {
    /// Longest client line accepted, in bytes, line ending excluded.
    pub max_line_bytes: usize,
    /// Most client connections a server serves at once; past it, the
    /// connection idle longest gives way to a newcomer.
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
    /// With `ack = "local"`: clients are not read while a neighbour has
    /// more updates than this waiting to be sent.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AckMode {
    #[default]
    Herd,
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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

/// The `[log]` table: what each server's log file keeps, and how big it may grow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `info` (every line received and sent, links, Places) or `debug`
    /// (heartbeats and store changes too); also `error`, `warn`, `trace`.
    /// `RUST_LOG` overrides it.
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
