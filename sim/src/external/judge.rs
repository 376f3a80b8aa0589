//! Judging what real clients saw, with the simulator's own checks
//! (`oracle::client`): an acknowledgement is acted on as soon as the loop
//! sees it (who must answer the reads after it; which server dies right
//! after it), a finished exchange goes through the outside-view checks and
//! its step's expectations, and the polls' store changes through the
//! inside-view model. Where a check needs what this herd does not give
//! (Places answers it did not ask the stand-in for), it is made in part
//! and the run says so.

use std::collections::BTreeSet;
use std::time::Duration;

use super::clients::Slot;
use super::stage::Stage;
use super::watch::Watcher;
use crate::driver::{Caveat, Failure};
use crate::observe::{End, Fault, Note};
use crate::oracle::client::{
    check_exchange, check_expected, check_places_shape, check_read, expect_ack, Exchange, Expected,
};
use crate::oracle::text::{iamat, lines};
use crate::oracle::{Entry, Inside, Violation};
use crate::world::links::settle;

/// How far a server's receive time (skew + client time) may lie outside
/// the client's own start and end: the server reads the same clock, so
/// only its arithmetic can be off, and a coarse clock.
pub const SKEW_TOLERANCE_NS: i128 = 1_000_000;

/// What a client step's reply must be.
pub enum Expect {
    Step {
        exact: Option<String>,
        pattern: Option<regex::Regex>,
        status: Option<String>,
        results: Option<usize>,
    },
    /// An AT reply to the one IAMAT sent.
    Ack,
}

/// What happens once a client holds its AT reply.
pub struct AfterAck {
    pub readers: Vec<String>,
    pub crash: bool,
    acked: Option<(Entry, BTreeSet<String>, Duration)>,
}

impl AfterAck {
    pub fn new(readers: Vec<String>, crash: bool) -> Self {
        Self {
            readers,
            crash,
            acked: None,
        }
    }
}

pub struct Pending {
    pub place: String,
    pub label: String,
    pub server: String,
    pub sent: Vec<u8>,
    pub slot: Slot,
    pub expect: Expect,
    pub after_ack: Option<AfterAck>,
}

pub struct Judge {
    pub inside: Inside,
    pub watcher: Watcher,
    pending: Vec<Pending>,
    /// Every client ID an IAMAT was sent for: what `converged` polls.
    pub clients: BTreeSet<String>,
    pub caveats: Vec<Caveat>,
}

fn exchange(p: &Pending) -> Exchange {
    let seen = p.slot.borrow();
    Exchange {
        client: p.label.clone(),
        server: p.server.clone(),
        sent: p.sent.clone(),
        reply: seen.reply.clone(),
        started_ns: seen.started_ns,
        ended_ns: seen.ended_ns,
    }
}

impl Judge {
    pub fn new(servers: usize) -> Self {
        Self {
            inside: Inside::new(servers),
            watcher: Watcher::default(),
            pending: Vec::new(),
            clients: BTreeSet::new(),
            caveats: Vec::new(),
        }
    }

    /// Bytes a client is about to send to `server`.
    pub fn sending(&mut self, server: &str, bytes: &[u8]) {
        self.inside.sending(server, bytes);
        self.clients
            .extend(lines(bytes).filter_map(iamat).map(|i| i.client));
    }

    pub fn expect(&mut self, pending: Pending) {
        self.sending(&pending.server, &pending.sent);
        self.pending.push(pending);
    }

    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// IAMATs sent to servers that are up and not answered yet.
    pub fn unanswered_iamats(&self, stage: &Stage) -> usize {
        self.pending
            .iter()
            .filter(|p| stage.links.is_up(&p.server) && lines(&p.sent).any(|l| iamat(l).is_some()))
            .count()
    }

    /// Acts on acknowledgements that came since the last call.
    pub fn acks(&mut self, stage: &mut Stage) -> Result<(), Failure> {
        for p in &mut self.pending {
            let fresh = p.after_ack.as_ref().is_some_and(|a| a.acked.is_none());
            if !fresh || !p.slot.borrow().acked {
                continue;
            }
            let entry = expect_ack(&exchange(p)).map_err(|v| at(&p.place, v))?;
            let now = stage.now();
            let tuning = &stage.herd().tuning;
            let reach = stage
                .links
                .settled_reach(&p.server, now, settle(tuning), tuning.ack_timeout_ms);
            let Some(after) = p.after_ack.as_mut() else {
                continue;
            };
            let must_read: BTreeSet<String> = after
                .readers
                .iter()
                .filter(|r| reach.contains(*r))
                .cloned()
                .collect();
            stage.recording.note(Note::Acked {
                client: p.label.clone(),
                server: p.server.clone(),
                readers: must_read.iter().cloned().collect(),
            });
            if after.crash {
                stage.stop(Fault::SilentDeath {
                    server: p.server.clone(),
                });
                self.inside.told.must_survive(entry.clone(), reach);
            }
            after.acked = Some((entry, must_read, now));
        }
        Ok(())
    }

    /// Judges every client that is done, in the order they started.
    pub fn finished(&mut self, stage: &Stage) -> Result<(), Failure> {
        if !self.pending.iter().any(|p| p.slot.borrow().done()) {
            return Ok(());
        }
        let mut result = Ok(());
        for p in std::mem::take(&mut self.pending) {
            if result.is_err() || !p.slot.borrow().done() {
                self.pending.push(p);
                continue;
            }
            result = self.judge(&p, stage).map_err(|v| at(&p.place, v));
        }
        result
    }

    fn judge(&mut self, p: &Pending, stage: &Stage) -> Result<(), Violation> {
        let ex = exchange(p);
        let servers = stage.links.up_servers();
        for entry in ex.acks() {
            self.watcher.track(&entry, &servers, stage.now());
            self.inside.told.told(entry);
        }
        check_exchange(&ex, 1, SKEW_TOLERANCE_NS)?;
        let seen = p.slot.borrow();
        match &p.expect {
            Expect::Ack => {
                // A server that went down before it answered promised nothing.
                let down = stage
                    .links
                    .up_since(&p.server)
                    .is_none_or(|up| up > seen.started_at);
                if !(seen.reply.is_empty() && down) {
                    expect_ack(&ex)?;
                }
            }
            Expect::Step {
                exact,
                pattern,
                status,
                results,
            } => {
                let reply = String::from_utf8_lossy(&seen.reply);
                let text = match &seen.end {
                    Some(End::Failed(why)) => format!("error: {why}"),
                    Some(End::TimedOut) => format!("timed out after: {reply}"),
                    _ => reply.into_owned(),
                };
                // Places answers are the stand-in's only if it was asked.
                let places = status.is_some() || results.is_some();
                let asked = stage.places.asked_between(ex.started_ns, ex.ended_ns);
                let expected = Expected {
                    exact: exact.as_deref(),
                    pattern: pattern.as_ref(),
                    status: status.as_deref().filter(|_| asked),
                    results: results.filter(|_| asked),
                };
                check_expected(&ex, &text, &expected)?;
                if places && !asked {
                    check_places_shape(&ex, &text)?;
                    self.caveats.push(Caveat {
                        place: p.place.clone(),
                        what: "the herd did not ask the Places stand-in for this WHATSAT (it calls Google \
                               itself, or uses our offline fake): expect_places was checked for the \
                               reply's shape only"
                            .into(),
                        skipped: false,
                    });
                }
            }
        }
        let Some(AfterAck {
            acked: Some((acked, must_read, at)),
            ..
        }) = &p.after_ack
        else {
            return Ok(());
        };
        for (reader, read) in &seen.reads {
            // A reader that went down meanwhile owes no answer.
            let same_run = stage.links.up_since(reader).is_some_and(|t| t <= *at);
            if must_read.contains(reader) && same_run {
                check_read(&p.label, acked, reader, &read.borrow().reply)?;
            }
        }
        Ok(())
    }
}

fn at(place: &str, violation: Violation) -> Failure {
    Failure {
        place: place.to_string(),
        violation,
    }
}
