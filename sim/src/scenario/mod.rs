//! Scenario files: a herd, network settings, a seed, and a timeline of
//! client lines, faults and assertions at simulated times. Read in
//! `load.rs` (the file) and `steps.rs` (each `[[step]]`; repeated ones
//! expanded by `repeat.rs`), checked in `check.rs` (one step) and `refs.rs` (names one
//! step uses from another), every mistake reported at the file, line and
//! column of the key or value at fault (`names.rs` suggests the name meant);
//! written back in `write.rs`. Placeholders (`{now}`, ...) are in
//! `placeholders.rs`. The format is documented in docs/scenarios.md.

mod check;
mod load;
mod names;
pub mod placeholders;
mod refs;
mod repeat;
mod steps;
pub mod write;

use herd::config::HerdConfig;
use serde::{Deserialize, Serialize};

pub use crate::world::setup::WorldSetup;
pub use crate::world::Network;
pub use check::decode_hex;
pub use load::{line_column, load, parse, ScenarioError};

/// A checked scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name without `.toml`; names the test and the snapshot.
    pub name: String,
    pub path: String,
    pub description: String,
    pub seed: u64,
    pub herd: HerdConfig,
    pub network: Network,
    pub steps: Vec<Step>,
    /// When the run stops if the timeline ends earlier.
    pub end_ms: u64,
    /// Whether the trace shows every line sent and received.
    pub trace_messages: bool,
    /// The `[world]` table: secret, per-server tuning, perturbations.
    pub world: WorldSetup,
}

/// One timeline entry, with where it is in the file. A scenario's steps
/// are in the order they run: by `at_ms`, then as written.
#[derive(Debug, Clone)]
pub struct Step {
    pub at_ms: u64,
    pub action: Action,
    /// `file:line` of the step, for failure reports (every repetition of
    /// a repeated step has its step's place).
    pub place: String,
}

/// What a reply must look like.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlacesExpect {
    /// The `status` of the WHATSAT JSON.
    pub status: Option<String>,
    /// Exactly this many results.
    pub results: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacesMode {
    /// Places answers normally.
    Ok,
    /// Places cannot be reached.
    Down,
    /// Places answers after `delay_ms`.
    Slow,
    /// Places answers HTTP 200 with this legacy error `status`.
    Status,
    /// Places answers this HTTP error code.
    Http,
    /// Places answers normally, quoting the request with its API key.
    EchoKey,
}

/// What abusive clients do (docs/explorer.md, "Abusive clients").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attack {
    /// `count` connections to the link port say `HERD HELLO <claim>` (every
    /// other one with a made-up proof) and read nothing for `for_ms`.
    HelloStorm,
    /// One connection claims to be `claim`, proves nothing, and asks
    /// `HERD RESYNC` `count` times over `for_ms`.
    ResyncSpam,
    /// `count` client connections that send nothing for `for_ms`.
    Hoard,
    /// While `server` is down, a process takes its ports and poses as it.
    Squat,
}

/// What a step does. In a file the variant is the step's `do` key; serde
/// sees it externally tagged (`{ client = { at_ms = .. } }`) so that every
/// field is read with its place in the file (`steps.rs`, `write.rs`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// A client connects to `server`, sends `send` (plus `\n` unless `raw`),
    /// half-closes, and reads the reply until the server closes.
    Client {
        at_ms: u64,
        client: String,
        server: String,
        send: String,
        #[serde(default, skip_serializing_if = "no")]
        raw: bool,
        /// `send` is hexadecimal bytes (spaces ignored), for bytes a TOML
        /// string cannot hold, such as invalid UTF-8.
        #[serde(default, skip_serializing_if = "no")]
        hex: bool,
        /// Whether the client half-closes after sending (default true);
        /// false keeps its sending side open, as a slow or stuck client would.
        #[serde(default = "yes", skip_serializing_if = "is_yes")]
        half_close: bool,
        /// `send` repeated this many times on one line (for over-long lines).
        #[serde(default)]
        repeat: Option<usize>,
        expect: Option<String>,
        expect_match: Option<String>,
        expect_places: Option<PlacesExpect>,
        #[serde(default)]
        timeout_ms: Option<u64>,
        /// `send` is one IAMAT; right after the AT reply the client asks
        /// every other running server WHATSAT on fresh connections at once,
        /// and each that the origin can reach must answer with it or newer.
        #[serde(default, skip_serializing_if = "no")]
        read_after_ack: bool,
        /// `send` is one IAMAT; the server that answered dies silently the
        /// moment the client holds the AT reply, and the servers it could
        /// reach must keep the update.
        #[serde(default, skip_serializing_if = "no")]
        crash_after_ack: bool,
        /// Names this send: `{ID.time}` in a later step is the `{now}` it
        /// sent (of its last repetition, for a repeated step).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// `count` clients named `<prefix>NNNN` each send one IAMAT, spread
    /// round-robin over `servers` (all servers when empty).
    ManyClients {
        at_ms: u64,
        count: usize,
        prefix: String,
        #[serde(default)]
        servers: Vec<String>,
    },
    /// `count` clients named `<prefix>NNNNNN` each send one IAMAT to
    /// `server`, pipelined over `connections` connections: a store loaded
    /// fast (one connection: a flood of new client IDs).
    Bulk {
        at_ms: u64,
        server: String,
        count: usize,
        prefix: String,
        #[serde(default = "one")]
        connections: usize,
    },
    /// Abusive clients against `server`.
    Abuse {
        at_ms: u64,
        server: String,
        attack: Attack,
        #[serde(default)]
        count: usize,
        #[serde(default)]
        for_ms: u64,
        /// The neighbour the attacker says it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claim: Option<String>,
    },
    /// `send` (one IAMAT) must be answered with its AT line within `within_ms`.
    Probe {
        at_ms: u64,
        client: String,
        server: String,
        send: String,
        within_ms: u64,
    },
    /// Every connection between servers `a` and `b` is reset (a spurious drop).
    Reset { at_ms: u64, a: String, b: String },
    Partition {
        at_ms: u64,
        a: Vec<String>,
        b: Vec<String>,
        /// Only messages from `a` to `b` are dropped.
        #[serde(default, skip_serializing_if = "no")]
        oneway: bool,
    },
    Heal {
        at_ms: u64,
        a: Vec<String>,
        b: Vec<String>,
        #[serde(default, skip_serializing_if = "no")]
        oneway: bool,
    },
    /// Messages between `a` and `b` wait on the link until `release`.
    Hold {
        at_ms: u64,
        a: Vec<String>,
        b: Vec<String>,
    },
    Release {
        at_ms: u64,
        a: Vec<String>,
        b: Vec<String>,
    },
    /// Fixes the latency between `a` and `b`.
    Latency {
        at_ms: u64,
        a: Vec<String>,
        b: Vec<String>,
        ms: u64,
    },
    /// Sets the loss rate between `a` and `b`.
    Loss {
        at_ms: u64,
        a: Vec<String>,
        b: Vec<String>,
        rate: f64,
    },
    /// The server's process dies; its sockets close cleanly.
    Crash { at_ms: u64, server: String },
    /// A crashed server starts again, with an empty store.
    Restart { at_ms: u64, server: String },
    /// The machine vanishes: cut off, then crashed, then the network is
    /// repaired, so its neighbours never see a close.
    SilentDeath { at_ms: u64, server: String },
    /// The server stops (SIGSTOP on a real herd): nothing goes in or out,
    /// its connections stay open, until `resume`; it keeps its store.
    Pause { at_ms: u64, server: String },
    /// A paused server goes on where it stopped (SIGCONT).
    Resume { at_ms: u64, server: String },
    /// Changes how Places answers from now on.
    Places {
        at_ms: u64,
        mode: PlacesMode,
        delay_ms: Option<u64>,
        status: Option<String>,
        code: Option<u16>,
    },
    /// Within `within_ms`, the servers that are up agree and hold what
    /// clients were told (docs/scenarios.md); later steps wait for it.
    /// With `poll`, a client then asks every running server WHATSAT for
    /// every client told of an update, and each must answer with it.
    Converged {
        at_ms: u64,
        within_ms: u64,
        #[serde(default, skip_serializing_if = "no")]
        poll: bool,
    },
    /// What `server` holds for `client` right now; `none = true` for nothing.
    Holds {
        at_ms: u64,
        server: String,
        client: String,
        origin: Option<String>,
        location: Option<String>,
        time: Option<String>,
        #[serde(default, skip_serializing_if = "no")]
        none: bool,
    },
}

/// The one list of every action's `at_ms`, for reading and for moving it.
macro_rules! at_ms_of {
    ($action:expr) => {{
        use Action::*;
        match $action {
            Client { at_ms, .. }
            | ManyClients { at_ms, .. }
            | Bulk { at_ms, .. }
            | Abuse { at_ms, .. }
            | Probe { at_ms, .. }
            | Reset { at_ms, .. }
            | Partition { at_ms, .. }
            | Heal { at_ms, .. }
            | Hold { at_ms, .. }
            | Release { at_ms, .. }
            | Latency { at_ms, .. }
            | Loss { at_ms, .. }
            | Crash { at_ms, .. }
            | Restart { at_ms, .. }
            | SilentDeath { at_ms, .. }
            | Pause { at_ms, .. }
            | Resume { at_ms, .. }
            | Places { at_ms, .. }
            | Converged { at_ms, .. }
            | Holds { at_ms, .. } => at_ms,
        }
    }};
}

impl Action {
    pub fn at_ms(&self) -> u64 {
        *at_ms_of!(self)
    }

    /// The step's `do`: `client`, `many_clients`, ...
    pub fn name(&self) -> &'static str {
        use Action::*;
        match self {
            Client { .. } => "client",
            ManyClients { .. } => "many_clients",
            Bulk { .. } => "bulk",
            Abuse { .. } => "abuse",
            Probe { .. } => "probe",
            Reset { .. } => "reset",
            Partition { .. } => "partition",
            Heal { .. } => "heal",
            Hold { .. } => "hold",
            Release { .. } => "release",
            Latency { .. } => "latency",
            Loss { .. } => "loss",
            Crash { .. } => "crash",
            Restart { .. } => "restart",
            SilentDeath { .. } => "silent_death",
            Pause { .. } => "pause",
            Resume { .. } => "resume",
            Places { .. } => "places",
            Converged { .. } => "converged",
            Holds { .. } => "holds",
        }
    }

    /// The same action at another time.
    pub fn at(&self, t: u64) -> Action {
        let mut moved = self.clone();
        *at_ms_of!(&mut moved) = t;
        moved
    }
}

/// serde's default for flags that are on unless said otherwise.
fn yes() -> bool {
    true
}

fn one() -> usize {
    1
}

/// Flags at their default are left out when a scenario is written.
fn no(flag: &bool) -> bool {
    !*flag
}

fn is_yes(flag: &bool) -> bool {
    *flag
}
