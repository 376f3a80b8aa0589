//! Checks and judging, written apart from the server's code: nothing here
//! calls the server's parsers, formatters or merge rule. The oracle reads
//! protocol text with its own small code (`text.rs`) and orders updates by
//! the documented rule (`entry.rs`).
//!
//! Two views:
//! - inside (`Inside`): the servers' own reports, checked as they happen:
//!   every store change (`model.rs`), the flood cost (`flood.rs`), the
//!   Places radius (`radius.rs`), and what `converged` waits for
//!   (`converge.rs`: agreement, told updates, acknowledged updates kept);
//! - outside (`client/`): what a client can see, as functions of what it
//!   sent, what came back and when, so that a harness driving real
//!   processes can call the same code.
//!
//! A failed check is a typed `Violation` (`violation.rs`).

pub mod client;
pub mod converge;
pub mod entry;
pub mod flood;
pub mod model;
pub mod radius;
pub mod text;
pub mod violation;

use std::collections::BTreeMap;

use self::converge::Told;
pub use self::entry::Entry;
use self::flood::FloodBound;
use self::model::Model;
use self::radius::Radii;
pub use self::violation::{FailureKind, Violation, ViolationKind};
use crate::observe::{Record, What};

/// The inside view of one run, fed every record as it comes.
pub struct Inside {
    pub model: Model,
    pub told: Told,
    flood: FloodBound,
    radii: Radii,
    /// The incarnation each server's records came from last.
    incarnations: BTreeMap<String, u32>,
}

impl Inside {
    pub fn new(servers: usize) -> Self {
        Self {
            model: Model::default(),
            told: Told::default(),
            flood: FloodBound::new(servers),
            radii: Radii::default(),
            incarnations: BTreeMap::new(),
        }
    }

    /// A client is about to send `bytes` to `server`.
    pub fn sending(&mut self, server: &str, bytes: &[u8]) {
        for line in text::lines(bytes) {
            if let Some(iamat) = text::iamat(line) {
                self.model.sent(server, &iamat);
                self.flood.iamat_sent();
            } else if let Some(whatsat) = text::whatsat(line) {
                self.radii.sent(&whatsat);
            }
        }
    }

    /// `server` was restarted: it starts empty, and one more incarnation
    /// may flood.
    pub fn restarted(&mut self, server: &str) {
        self.model.restarted(server);
        self.flood.restarted();
    }

    /// Checks one record; server events only.
    pub fn observe(&mut self, record: &Record) -> Result<(), Violation> {
        let What::Server { incarnation, event } = &record.what else {
            return Ok(());
        };
        let server = &*record.host;
        if self.incarnations.insert(server.to_string(), *incarnation) != Some(*incarnation) {
            self.model.restarted(server);
        }
        self.model.observe(server, event)?;
        self.flood.observe(event);
        self.flood.check()
    }

    /// The radius of each Places request made since the last call.
    pub fn places_requests(&mut self, radii_m: Vec<String>) -> Result<(), Violation> {
        self.radii.check(radii_m)
    }
}
