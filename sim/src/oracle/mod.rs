//! Checks and judging, written apart from the server's code: nothing here
//! calls the server's parsers, formatters or merge rule. The oracle reads
//! protocol text with its own small code (`text.rs`) and orders updates by
//! the documented rule (`entry.rs`).
//!
//! Two views:
//! - inside (`Inside`): the servers' own reports, checked as they happen:
//!   every store change (`model.rs`), the flood cost (`flood.rs`), catch-up
//!   dumps (`dumps.rs`), reconnect backoff (`backoff.rs`), links dropped
//!   while healthy (`drops.rs`), the Places radius (`radius.rs`), and what
//!   `converged` waits for (`converge.rs`: agreement, told updates,
//!   acknowledged updates kept);
//! - outside (`client/`): what a client can see, as functions of what it
//!   sent, what came back and when, so that a harness driving real
//!   processes can call the same code.
//!
//! A failed check is a typed `Violation` (`violation.rs`).

pub mod backoff;
pub mod client;
pub mod converge;
pub mod drops;
pub mod dumps;
pub mod entry;
pub mod flood;
pub mod harm;
pub mod model;
pub mod radius;
pub mod text;
pub mod violation;

use std::collections::BTreeMap;
use std::time::Duration;

use herd::config::HerdConfig;

use self::backoff::Backoff;
use self::converge::Told;
use self::drops::Drops;
use self::dumps::DumpBound;
pub use self::entry::Entry;
use self::flood::FloodBound;
pub use self::harm::{Harm, HarmKind};
use self::model::Model;
use self::radius::Radii;
pub use self::violation::{FailureKind, Violation, ViolationKind};
use crate::observe::record::Role;
use crate::observe::{Note, Record, ServerEvent, What};

/// What the inside view needs to know of the world when it judges a record.
pub struct View<'a> {
    /// How much sooner one message may travel than another right now.
    pub spread_ms: u64,
    /// Whether a link has been healthy, between servers up, long enough.
    pub steady: &'a dyn Fn(&str, &str) -> bool,
}

impl View<'static> {
    /// A world the run cannot see into (real processes): no link counts as
    /// steady and any redial gap passes, so the checks that need the
    /// network's state say nothing.
    pub fn opaque() -> Self {
        View {
            spread_ms: u64::MAX / 2,
            steady: &|_, _| false,
        }
    }
}

/// The inside view of one run, fed every record as it comes.
pub struct Inside {
    pub model: Model,
    pub told: Told,
    pub drops: Drops,
    flood: FloodBound,
    dumps: DumpBound,
    backoff: Backoff,
    radii: Radii,
    /// The incarnation each server's records came from last.
    incarnations: BTreeMap<String, u32>,
    servers: Vec<String>,
}

impl Inside {
    pub fn new(herd: &HerdConfig) -> Self {
        Self {
            model: Model::default(),
            told: Told::default(),
            drops: Drops::default(),
            flood: FloodBound::new(herd),
            dumps: DumpBound::new(herd.tuning.flooding),
            backoff: Backoff::new(&herd.tuning),
            radii: Radii::default(),
            incarnations: BTreeMap::new(),
            servers: herd.servers.iter().map(|s| s.name.clone()).collect(),
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
        self.told.lost_with(server, &self.model);
        self.model.restarted(server);
        self.flood.restarted(server);
    }

    /// Checks one record: server events, and a squatter's accepts.
    pub fn observe(&mut self, record: &Record, view: &View) -> Result<(), Violation> {
        let (server, incarnation, event) = match &record.what {
            What::Server { incarnation, event } => (&*record.host, *incarnation, event),
            What::Driver(Note::Squatted { server, from }) => {
                return self.backoff.arrived(from, server, record.at, view.spread_ms);
            }
            _ => return Ok(()),
        };
        if self.incarnations.insert(server.to_string(), incarnation) != Some(incarnation) {
            self.model.restarted(server);
            self.backoff.reset(server, None);
        }
        self.model.observe(server, event)?;
        self.flood.observe(server, event);
        self.flood.check()?;
        self.dumps.observe(server, incarnation, event)?;
        self.drops.check(server, event, record.at, view.steady)?;
        self.links(server, event, record.at, view.spread_ms)
    }

    /// What a server's link events say about its reconnect backoff.
    fn links(
        &mut self,
        server: &str,
        event: &ServerEvent,
        at: Duration,
        spread_ms: u64,
    ) -> Result<(), Violation> {
        match event {
            ServerEvent::Opened {
                role: Role::Link,
                peer,
                ..
            } => match peer.host.as_ref().filter(|h| self.servers.contains(h)) {
                Some(from) => self.backoff.arrived(from, server, at, spread_ms),
                None => Ok(()),
            },
            ServerEvent::FeedUp { neighbour, .. } => {
                self.backoff.reset(server, Some(neighbour));
                Ok(())
            }
            ServerEvent::LinkUp { neighbour, .. } => {
                self.backoff.link_up(server, neighbour, at);
                Ok(())
            }
            ServerEvent::LinkDown { neighbour, .. } => {
                self.backoff.link_down(server, neighbour, at);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The radius of each Places request made since the last call.
    pub fn places_requests(&mut self, radii_m: Vec<String>) -> Result<(), Violation> {
        self.radii.check(radii_m)
    }
}
