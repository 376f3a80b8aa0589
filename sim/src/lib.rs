//! herd-sim: the real herd server code as turmoil hosts in one process on
//! one thread, driven by scenario files. See docs/scenarios.md.

pub mod checks;
pub mod clients;
pub mod clock;
pub mod determinism;
pub mod explore;
pub mod flow;
pub mod herd_config;
mod judge;
pub mod net;
pub mod places;
pub mod run;
pub mod scenario;
pub mod stats;
mod steps;
pub mod svg;
pub mod trace;
pub mod wiremock_places;
