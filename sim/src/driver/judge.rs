//! Judging what clients saw. An acknowledgement is handled the tick it
//! arrives (who must answer the reads after it; which server dies right
//! after it); a finished exchange goes through the outside-view checks
//! and its step's expectations; every record goes through the inside view.
//! The same judge serves the simulated world and, in external mode, real
//! processes: what it needs of either is a `Herd`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use herd::config::{HerdConfig, Tuning};

use super::talk::Slot;
use super::{Caveat, Failure, CLIENT_TIMEOUT_MS};
use crate::observe::{Fault, Log, Note};
use crate::oracle::client::{
    check_exchange, check_expected, check_key, check_places_shape, check_read, check_refused, expect_ack,
    Exchange, Expected, Refuses,
};
use crate::oracle::text::{iamat, lines};
use crate::oracle::{Entry, Harm, Inside, Violation};
use crate::world::clock::EPOCH_SECS;
use crate::world::links::Links;
use crate::world::setup::WorldSetup;
use crate::world::wiremock::SIM_KEY;
use crate::world::{World, TICK};

/// What judging needs of the herd a run drives.
pub trait Herd {
    /// The faults in force and which servers are up.
    fn links(&self) -> &Links;
    fn tuning(&self) -> &Tuning;
    /// The run's time.
    fn now(&self) -> Duration;
    /// The run's time at a POSIX instant a client stamped.
    fn since_start(&self, posix_ns: i128) -> Duration;
    /// The skew check's tick and tolerance, in ns (`check_acks_within`).
    fn skew_window(&self) -> (i128, i128);
    /// The server dies without a word, right after its acknowledgement.
    fn silent_death(&mut self, server: &str);
    /// Whether the WHATSAT answers between these POSIX times came from the
    /// Places the run controls (else `expect_places` is checked in part).
    fn places_answered(&self, _from_ns: i128, _to_ns: i128) -> bool {
        true
    }
    /// A client holds an AT reply for `entry`.
    fn told(&mut self, _entry: &Entry) {}
}

impl Herd for World<'_> {
    fn links(&self) -> &Links {
        World::links(self)
    }

    fn tuning(&self) -> &Tuning {
        &self.herd().tuning
    }

    fn now(&self) -> Duration {
        World::now(self)
    }

    fn since_start(&self, posix_ns: i128) -> Duration {
        Duration::from_nanos((posix_ns - i128::from(EPOCH_SECS) * 1_000_000_000) as u64)
    }

    fn skew_window(&self) -> (i128, i128) {
        (TICK.as_nanos() as i128, 0)
    }

    fn silent_death(&mut self, server: &str) {
        World::silent_death(self, server);
    }
}

/// What a client step's reply must be.
pub enum Expect {
    /// From a `client` step.
    Step {
        exact: Option<String>,
        pattern: Option<regex::Regex>,
        status: Option<String>,
        results: Option<usize>,
    },
    /// An AT reply to the one IAMAT sent.
    Ack,
    /// An AT reply to the one IAMAT sent within `within_ms`.
    Probe { within_ms: u64 },
    /// An AT reply to every IAMAT sent.
    Bulk,
    /// A stranger on a link port, which learns nothing when the herd has a
    /// secret.
    Stranger { secret: bool },
}

/// What happens once a client holds its AT reply.
pub struct AfterAck {
    /// The servers the client reads from.
    pub readers: Vec<String>,
    /// The server that answered dies silently.
    pub crash: bool,
    /// Once the ack came: the update, who must answer the reads with it,
    /// and when.
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

/// A client whose reply the driver has yet to judge.
pub struct Pending {
    /// `file:line` of its step.
    pub place: String,
    /// The client's label.
    pub label: String,
    pub server: String,
    pub sent: Vec<u8>,
    pub slot: Slot,
    pub expect: Expect,
    pub after_ack: Option<AfterAck>,
}

pub struct Judge {
    pub inside: Inside,
    pending: Vec<Pending>,
    /// See `patience`.
    patience: Duration,
    /// Checks made only in part (never in simulation).
    pub caveats: Vec<Caveat>,
    /// What each server must refuse.
    refuses: BTreeMap<String, Refuses>,
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
    pub fn new(herd: &HerdConfig, world: &WorldSetup) -> Self {
        let refuses: BTreeMap<String, Refuses> = herd
            .servers
            .iter()
            .map(|s| {
                let tuning = world.herd_of(herd, &s.name).tuning;
                let limits = Refuses {
                    max_client_id_bytes: tuning.max_client_id_bytes,
                    max_future_ms: tuning.max_future_ms,
                };
                (s.name.clone(), limits)
            })
            .collect();
        let mut inside = Inside::new(herd);
        let shared = refuses.values().map(|r| r.max_client_id_bytes).min();
        if !world.tuning_of.is_empty() {
            inside.told.share_ids_up_to(shared.unwrap_or(usize::MAX));
        }
        Self {
            inside,
            pending: Vec::new(),
            patience: Duration::ZERO,
            caveats: Vec::new(),
            refuses,
        }
    }

    /// A client was started; judge it when it is done. It gives up by
    /// itself at `gives_up_at` (time since the run began) at the latest.
    pub fn expect(&mut self, pending: Pending, gives_up_at: Duration) {
        self.inside.sending(&pending.server, &pending.sent);
        self.pending.push(pending);
        self.patience = self.patience.max(gives_up_at);
    }

    /// Clients not judged yet.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// Once the steps are done: fails if a client still waits well after
    /// its own timeout, which may end long after `end_ms` (a long
    /// convergence wait, a slow bulk load). Every client gives up by
    /// itself, so this only guards the driver's loop.
    pub fn stragglers(&self, now: Duration, end_ms: u64) -> Result<(), Failure> {
        let patience = self.patience.max(Duration::from_millis(end_ms));
        if now < patience + Duration::from_millis(CLIENT_TIMEOUT_MS) {
            return Ok(());
        }
        let waiting = self
            .pending
            .iter()
            .map(|p| format!("{} at {} ({})", p.label, p.server, p.place))
            .collect();
        Err(Failure::at("simulation", Violation::NoReply { waiting }))
    }

    /// IAMATs sent to servers that are up and not answered yet.
    pub fn unanswered_iamats(&self, world: &impl Herd) -> usize {
        self.pending
            .iter()
            .filter(|p| world.links().is_up(&p.server) && lines(&p.sent).any(|l| iamat(l).is_some()))
            .count()
    }

    /// Acts on acknowledgements that came this tick.
    pub fn acks(&mut self, world: &mut impl Herd, log: &Log) -> Result<(), Failure> {
        for p in &mut self.pending {
            let fresh = p.after_ack.as_ref().is_some_and(|a| a.acked.is_none());
            if !fresh || !p.slot.borrow().acked {
                continue;
            }
            let ex = exchange(p);
            let entry = expect_ack(&ex).map_err(|v| Failure::at(&p.place, v))?;
            let now = world.now();
            let tuning = world.tuning();
            let reach = world.links().settled_reach(&p.server, now, tuning);
            let Some(after) = p.after_ack.as_mut() else {
                continue;
            };
            let must_read: BTreeSet<String> = after
                .readers
                .iter()
                .filter(|r| reach.contains(*r))
                .cloned()
                .collect();
            let note = Note::Acked {
                client: p.label.clone(),
                server: p.server.clone(),
                readers: must_read.iter().cloned().collect(),
            };
            log.note(now, note);
            if after.crash {
                log.note(
                    now,
                    Note::Fault(Fault::SilentDeath {
                        server: p.server.clone(),
                    }),
                );
                world.silent_death(&p.server);
                self.inside.told.must_survive(entry.clone(), reach);
            }
            after.acked = Some((entry, must_read, now));
        }
        Ok(())
    }

    /// Judges every client that is done, in the order they started.
    pub fn finished(&mut self, world: &mut impl Herd) -> Result<(), Failure> {
        // Most ticks nobody finishes; then there is nothing to move.
        if !self.pending.iter().any(|p| p.slot.borrow().done()) {
            return Ok(());
        }
        let mut result = Ok(());
        let pending = std::mem::take(&mut self.pending);
        for p in pending {
            if result.is_err() || !p.slot.borrow().done() {
                self.pending.push(p);
                continue;
            }
            result = self.judge(&p, world).map_err(|v| Failure::at(&p.place, v));
        }
        result
    }

    fn judge(&mut self, p: &Pending, world: &mut impl Herd) -> Result<(), Violation> {
        let ex = exchange(p);
        for entry in ex.acks() {
            world.told(&entry);
            self.inside.told.told(entry);
        }
        let (tick_ns, tolerance_ns) = world.skew_window();
        check_exchange(&ex, tick_ns, tolerance_ns)?;
        check_key(&ex, SIM_KEY)?;
        if let Some(limits) = self.refuses.get(&p.server) {
            check_refused(&ex, limits)?;
        }
        let seen = p.slot.borrow();
        match &p.expect {
            Expect::Probe { within_ms } => {
                let took_ms = ((ex.ended_ns - ex.started_ns) / 1_000_000) as u64;
                let answered = expect_ack(&ex).is_ok();
                if !answered || took_ms > *within_ms {
                    return Err(Violation::Harm(Harm::Slow {
                        by: ex.by(),
                        within_ms: *within_ms,
                        took_ms,
                        answered,
                    }));
                }
            }
            Expect::Bulk => {
                let (sent, acked) = (ex.iamats().len(), ex.acks().len());
                if acked < sent {
                    return Err(Violation::WrongReply {
                        by: ex.by(),
                        want: format!("want an AT reply to each of the {sent} IAMATs, got {acked}"),
                        seen: crate::oracle::client::shown(&seen.reply),
                    });
                }
            }
            Expect::Stranger { secret } => {
                let told = lines(&seen.reply).map(String::from_utf8_lossy).find(|l| {
                    ["HERD DUMP ", "HERD AT ", "HERD SYNCED "]
                        .iter()
                        .any(|v| l.starts_with(v))
                });
                if let Some(line) = told.filter(|_| *secret) {
                    return Err(Violation::Harm(Harm::Leaked {
                        stranger: p.label.clone(),
                        server: p.server.clone(),
                        line: line.into_owned(),
                    }));
                }
            }
            Expect::Ack => {
                // A server that crashed before it answered promised nothing.
                let started = world.since_start(ex.started_ns);
                let crashed = world.links().up_since(&p.server).is_none_or(|up| up > started);
                if !(seen.reply.is_empty() && crashed) {
                    expect_ack(&ex)?;
                }
            }
            Expect::Step {
                exact,
                pattern,
                status,
                results,
            } => {
                let text = seen.text();
                // Places answers a run does not control are checked for their shape.
                let ours = world.places_answered(ex.started_ns, ex.ended_ns);
                let expected = Expected {
                    exact: exact.as_deref(),
                    pattern: pattern.as_ref(),
                    status: status.as_deref().filter(|_| ours),
                    results: results.filter(|_| ours),
                };
                check_expected(&ex, &text, &expected)?;
                if !ours && (status.is_some() || results.is_some()) {
                    check_places_shape(&ex, &text)?;
                    self.caveats.push(Caveat {
                        place: p.place.clone(),
                        what: "the herd did not ask the Places stand-in for this WHATSAT (it calls \
                               Google itself, or uses our offline fake): expect_places was checked \
                               for the reply's shape only"
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
            let same_run = world.links().up_since(reader).is_some_and(|t| t <= *at);
            if must_read.contains(reader) && same_run {
                check_read(&p.label, acked, reader, &read.borrow().reply)?;
            }
        }
        Ok(())
    }
}
