//! One scenario against a running herd, on the wall clock: steps are
//! applied when their time comes, records and finished clients are judged
//! as they come, polls run, and `converged` steps wait, exactly as the
//! simulator's driver does between ticks; the loop wakes every
//! millisecond, or at the next step.

use std::collections::BTreeMap;
use std::time::Duration;

use super::stage::Stage;
use super::steps::{self, Parts};
use super::watch::{Answers, Tick};
use crate::driver::judge::{Herd, Judge};
use crate::driver::Failure;
use crate::observe::Note;
use crate::oracle::client::check_polls;
use crate::oracle::violation::{Unconverged, Violation};
use crate::oracle::View;
use crate::scenario::{Action, Scenario};

/// How often the loop looks at what happened when no step is due.
const LOOP: Duration = Duration::from_millis(1);
/// How often a server whose command might have ended is looked at.
const EXIT_CHECK: Duration = Duration::from_millis(100);

pub struct Run<'r> {
    pub scenario: &'r Scenario,
    pub stage: &'r mut Stage,
    pub judge: &'r mut Judge,
    /// Records judged so far.
    cursor: usize,
    /// The `{now}` each client step with an id sent last, by id.
    sent: BTreeMap<String, String>,
    pub converged_ms: Option<u64>,
}

/// A `converged` step in progress.
struct Waiting {
    place: String,
    started: Duration,
    within_ms: u64,
    poll: bool,
    /// A round of polls is under way.
    polling: bool,
    /// Why the last round fell short.
    why: Option<Unconverged>,
}

impl<'r> Run<'r> {
    pub fn new(scenario: &'r Scenario, stage: &'r mut Stage, judge: &'r mut Judge) -> Self {
        Self {
            scenario,
            stage,
            judge,
            cursor: 0,
            sent: BTreeMap::new(),
            converged_ms: None,
        }
    }

    pub async fn drive(&mut self) -> Result<(), Failure> {
        let steps = &self.scenario.steps;
        let mut next = 0;
        let mut waiting: Option<Waiting> = None;
        let mut exit_checked = Duration::ZERO;
        loop {
            let now = self.stage.now();
            let now_ms = now.as_millis() as u64;
            while waiting.is_none() && next < steps.len() && steps[next].at_ms <= now_ms {
                let step = &steps[next];
                next += 1;
                if let Action::Converged { within_ms, poll, .. } = step.action {
                    self.stage.recording.note(Note::Waiting { within_ms });
                    waiting = Some(Waiting {
                        place: step.place.clone(),
                        started: now,
                        within_ms,
                        poll,
                        polling: false,
                        why: None,
                    });
                } else {
                    let mut parts = Parts {
                        stage: self.stage,
                        judge: self.judge,
                        sent: &mut self.sent,
                    };
                    steps::apply(&mut parts, &step.action, &step.place).await?;
                }
                self.observe()?;
            }
            self.observe()?;
            let recording = self.stage.recording.clone();
            self.judge.acks(&mut *self.stage, recording.log())?;
            self.judge.finished(&mut *self.stage)?;
            if now >= exit_checked + EXIT_CHECK {
                exit_checked = now;
                if let Some(error) = self.stage.died() {
                    return Err(Failure::at("invariant", Violation::HostFailed { error }));
                }
            }
            let up = self.stage.up();
            self.stage.watcher.tick(Tick {
                now,
                up: &up,
                recording: &self.stage.recording,
                inside: &mut self.judge.inside,
            });
            if let Some(w) = &mut waiting {
                if let Some(took) = self.check(w)? {
                    let clients = self.judge.inside.told.clients();
                    let note = Note::Converged {
                        after_ms: took,
                        clients,
                    };
                    self.stage.recording.note(note);
                    self.converged_ms = Some(self.converged_ms.map_or(took, |m| m.max(took)));
                    waiting = None;
                    continue;
                }
            }
            let done = next == steps.len() && waiting.is_none();
            if done && now_ms >= self.scenario.end_ms && self.judge.waiting() == 0 {
                self.stage.recording.note(Note::End);
                return Ok(());
            }
            if done {
                self.judge.stragglers(now, self.scenario.end_ms)?;
            }
            let wake = match steps.get(next) {
                Some(step) if waiting.is_none() => Duration::from_millis(step.at_ms).min(now + LOOP),
                _ => now + LOOP,
            };
            tokio::time::sleep_until(self.stage.clock.instant(wake)).await;
        }
    }

    /// Every new record through the inside view, and the Places requests.
    fn observe(&mut self) -> Result<(), Failure> {
        let judge = &mut *self.judge;
        let mut result = Ok(());
        let view = View::opaque();
        self.cursor = self.stage.recording.log().each_since(self.cursor, |record| {
            if result.is_ok() {
                result = judge.inside.observe(record, &view);
            }
        });
        result
            .and_then(|()| judge.inside.places_requests(self.stage.places.take_radii()))
            .map_err(|v| Failure::at("invariant", v))
    }

    /// A `converged` step: once no IAMAT to a running server is waiting
    /// for its reply, a round of polls; the stores they show must agree
    /// and hold what clients were told (the simulator's own check), and
    /// with `poll` each answer must show the newest update told. Another
    /// round until it holds or the bound has passed.
    fn check(&mut self, w: &mut Waiting) -> Result<Option<u64>, Failure> {
        let took_ms = self.stage.now().saturating_sub(w.started).as_millis() as u64;
        let late = took_ms >= w.within_ms;
        if w.polling {
            let Some(answers) = self.stage.watcher.round_done() else {
                return Ok(None);
            };
            w.polling = false;
            let groups = self.stage.links.groups();
            match self.judge.inside.told.check(&self.judge.inside.model, &groups) {
                Ok(()) => return self.polled(w, &answers, took_ms),
                Err(why) => w.why = Some(why),
            }
        } else {
            let unanswered = self.judge.unanswered_iamats(self.stage);
            if unanswered > 0 {
                w.why = Some(Unconverged::Unanswered(unanswered));
            } else {
                let servers: Vec<String> = self.stage.links.up_servers();
                let now = self.stage.now();
                self.stage.watcher.start_round(&servers, now);
                w.polling = true;
                return Ok(None);
            }
        }
        match (late, w.why.take()) {
            (true, Some(why)) => Err(Failure::at(
                &w.place,
                Violation::NotConverged {
                    within_ms: w.within_ms,
                    why,
                },
            )),
            (_, why) => {
                w.why = why;
                Ok(None)
            }
        }
    }

    fn polled(&mut self, w: &Waiting, answers: &Answers, took_ms: u64) -> Result<Option<u64>, Failure> {
        if w.poll {
            self.stage.recording.note(Note::Polling { asks: answers.len() });
            check_polls(self.judge.inside.told.newest(), answers).map_err(|v| Failure::at(&w.place, v))?;
        }
        Ok(Some(took_ms))
    }
}
