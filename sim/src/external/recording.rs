//! Where external mode's observations become the simulator's typed
//! records (`observe::Record`): what clients sent and got, what the link
//! proxies carried, what polls saw the servers hold, and what the driver
//! did, each stamped with the time since the scenario started. Nothing is
//! kept before that (the herd starting up).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::observe::{ClientEvent, Log, Note, ServerEvent, What};

use super::clock::RealClock;

#[derive(Default)]
pub struct Recording {
    log: Log,
    clock: Cell<Option<RealClock>>,
    /// Each server's process incarnation, counted from 1.
    incarnations: RefCell<BTreeMap<String, u32>>,
}

impl Recording {
    /// Records from now on, stamped by `clock`.
    pub fn start(&self, clock: RealClock) {
        self.clock.set(Some(clock));
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// `server` was (re)started.
    pub fn started(&self, server: &str) {
        *self
            .incarnations
            .borrow_mut()
            .entry(server.to_string())
            .or_default() += 1;
    }

    pub fn server(&self, server: &str, event: ServerEvent) {
        let Some(clock) = self.clock.get() else { return };
        let incarnation = self.incarnations.borrow().get(server).copied().unwrap_or(1);
        let what = What::Server { incarnation, event };
        self.log.push(clock.elapsed(), Arc::from(server), what);
    }

    pub fn client(&self, host: &Arc<str>, event: ClientEvent) {
        if let Some(clock) = self.clock.get() {
            self.log.push(clock.elapsed(), host.clone(), What::Client(event));
        }
    }

    pub fn note(&self, note: Note) {
        if let Some(clock) = self.clock.get() {
            self.log.note(clock.elapsed(), note);
        }
    }
}
