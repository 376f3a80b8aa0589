//! A `converged` step in progress: checked every tick until the inside
//! view says the herd converged (`oracle::converge`): then, with `poll`, a
//! client asks every running server WHATSAT for every client told of an
//! update, and the answers are judged from outside. Past the bound, the
//! step fails as liveness, saying what is still missing.

use std::time::Duration;

use super::clients::{Job, Slot};
use super::{Failure, Parts, CLIENT_TIMEOUT_MS, READ_ARGS};
use crate::observe::Note;
use crate::oracle::client::check_polls;
use crate::oracle::violation::{Unconverged, Violation};

/// The client host that polls.
const POLLER: &str = "poller";
/// Past this many clients, convergence is checked only every few ms.
const BIG_STORE: usize = 2_000;
const BIG_STORE_CHECK_MS: u64 = 20;

pub(super) struct Waiting {
    place: String,
    started: Duration,
    within_ms: u64,
    poll: bool,
    /// The polls asked, once asked: (server, client ID, answer).
    polls: Option<Vec<(String, String, Slot)>>,
    /// What the last check saw that did not converge: store changes, told
    /// changes and groups. Until one changes, the answer is the same.
    seen: Option<(u64, u64, Vec<Vec<String>>)>,
    /// When it checked last.
    checked_ms: u64,
}

impl Waiting {
    pub fn new(place: &str, started: Duration, within_ms: u64, poll: bool) -> Self {
        Self {
            place: place.to_string(),
            started,
            within_ms,
            poll,
            polls: None,
            seen: None,
            checked_ms: 0,
        }
    }

    /// How long the step waited, once it passed.
    pub fn check(&mut self, parts: &mut Parts) -> Result<Option<u64>, Failure> {
        let took_ms = parts.world.now().saturating_sub(self.started).as_millis() as u64;
        if let Some(polls) = &self.polls {
            if !polls.iter().all(|(_, _, slot)| slot.borrow().done()) {
                return Ok(None);
            }
            let answers: Vec<(String, String, Vec<u8>)> = polls
                .iter()
                .map(|(server, client, slot)| (server.clone(), client.clone(), slot.borrow().reply.clone()))
                .collect();
            check_polls(parts.judge.inside.told.newest(), &answers)
                .map_err(|v| Failure::at(&self.place, v))?;
            return Ok(Some(took_ms));
        }
        let unanswered = parts.judge.unanswered_iamats(parts.world);
        let state = if unanswered > 0 {
            Err(Unconverged::Unanswered(unanswered))
        } else {
            let inside = &parts.judge.inside;
            let now = (
                inside.model.changes(),
                inside.told.changes(),
                parts.world.links().groups(),
            );
            // Checking a large store every tick costs more than the run:
            // only when something changed, and then at most every few ms.
            let big = inside.told.clients() > BIG_STORE && took_ms < self.checked_ms + BIG_STORE_CHECK_MS;
            if (self.seen.as_ref() == Some(&now) || big) && took_ms < self.within_ms {
                return Ok(None);
            }
            let state = inside.told.check(&inside.model, &now.2);
            self.seen = Some(now);
            self.checked_ms = took_ms;
            state
        };
        match state {
            Ok(()) if self.poll => {
                self.polls = Some(self.ask(parts)?);
                Ok(None)
            }
            Ok(()) => Ok(Some(took_ms)),
            Err(why) if took_ms >= self.within_ms => Err(Failure::at(
                &self.place,
                Violation::NotConverged {
                    within_ms: self.within_ms,
                    why,
                },
            )),
            Err(_) => Ok(None),
        }
    }

    fn ask(&self, parts: &mut Parts) -> Result<Vec<(String, String, Slot)>, Failure> {
        let clients: Vec<String> = parts.judge.inside.told.newest().keys().cloned().collect();
        let mut polls = Vec::new();
        for server in parts.world.links().up_servers() {
            for client in &clients {
                let bytes = format!("WHATSAT {client} {READ_ARGS}\n").into_bytes();
                parts.judge.inside.sending(&server, &bytes);
                let job = Job {
                    port: parts.world.port(&server),
                    server: server.clone(),
                    bytes,
                    half_close: true,
                    timeout: Duration::from_millis(CLIENT_TIMEOUT_MS),
                    after_ack: None,
                };
                let slot = Slot::default();
                parts
                    .clients
                    .talk(parts.world, POLLER, job, slot.clone())
                    .map_err(|v| Failure::at(&self.place, v))?;
                polls.push((server.clone(), client.clone(), slot));
            }
        }
        parts
            .log
            .note(parts.world.now(), Note::Polling { asks: polls.len() });
        Ok(polls)
    }
}
