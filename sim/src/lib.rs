//! herd-sim: the real herd server code as turmoil hosts in one process on
//! one thread, driven by scenario files. See docs/scenarios.md.
//!
//! By role: `world/` is what the servers run in (simulated net and clock,
//! the Places stand-in, the herd); `scenario/` reads and writes scenario
//! files; `driver/` runs one scenario's steps and clients; `observe/`
//! records and shows what happened; `oracle/` judges it, apart from the
//! server's code; `explore/` turns seeds into scenarios and shrinks
//! failures; `external/` runs the same scenarios against real
//! processes; `report/` is what commands print and write about runs, and
//! `cli/` the `run` and `mutate` commands.

// A run stops at its first violation, so carrying one by value costs
// nothing worth boxing it for.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod driver;
pub mod explore;
pub mod external;
pub mod observe;
pub mod oracle;
pub mod report;
pub mod scenario;
pub mod world;

pub use driver::{run, Caveat, Failure, Options, Report};
pub use oracle::{FailureKind, Violation, ViolationKind};
