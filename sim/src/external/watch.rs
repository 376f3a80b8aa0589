//! What each server holds, as polls see it: `WHATSAT <client> 1 1` on a
//! fresh connection, as Maelstrom's broadcast check reads every node. Once
//! a client holds an AT reply, every running server is polled for that
//! client until it shows the update or a newer one (first at once, then
//! less often); a `converged` step asks for a whole round, every running
//! server for every client sent, each answered by a poll begun after the
//! round began.
//!
//! Each change a poll sees becomes a store change record of that server
//! (`Stored`, or `Evicted` when it shows nothing any more), stamped when the
//! poll's answer came: an upper bound on when the server changed. So the
//! simulator's checks of store changes (never back in time, nothing no
//! client sent) and its statistics (when each update became visible where)
//! read what a client could see. One poll at a time per server and client,
//! so answers are seen in the order the server gave them.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use herd::protocol::{ClientTime, Location, Skew, Update};

use super::clients::ask;
use super::recording::Recording;
use crate::driver::READ_ARGS;
use crate::observe::{End, ServerEvent, Source};
use crate::oracle::text::{iamat, lines};
use crate::oracle::{Entry, Inside};

/// Polls in flight at once, over every server.
const MAX_IN_FLIGHT: usize = 32;
/// The first wait between two polls of a pair, and the longest.
const FIRST_INTERVAL: Duration = Duration::from_millis(5);
const MAX_INTERVAL: Duration = Duration::from_millis(200);
/// A poll that takes longer is an empty answer.
const POLL_TIMEOUT: Duration = Duration::from_secs(2);
/// The source polls write in `stored` records of updates a server did not
/// take from a client of its own.
const POLL: &str = "poll";

type Answer = Rc<RefCell<Option<Result<Vec<u8>, End>>>>;

struct Poll {
    launched: Duration,
    answer: Answer,
}

#[derive(Default)]
struct Pair {
    /// Poll until the server shows this update or a newer one.
    want: Option<Entry>,
    /// What the last answer showed.
    visible: Option<Entry>,
    poll: Option<Poll>,
    next_at: Duration,
    interval: Duration,
    /// The round waits for an answer to a poll begun after it began.
    in_round: bool,
}

/// A round's answers: (server, client ID, answer).
pub type Answers = Vec<(String, String, Vec<u8>)>;

struct Round {
    started: Duration,
    answers: Answers,
}

#[derive(Default)]
pub struct Watcher {
    /// By (server, client ID).
    pairs: BTreeMap<(String, String), Pair>,
    in_flight: usize,
    round: Option<Round>,
    /// Every client ID an IAMAT was sent for: what a round asks about.
    clients: BTreeSet<String>,
    /// The pairs with something to do (a poll to make, or one to read):
    /// the loop looks at these only, every millisecond.
    active: BTreeSet<(String, String)>,
}

/// What a tick needs from the run.
pub struct Tick<'a> {
    pub now: Duration,
    /// The servers running now (not crashed, not silently dead), and where.
    pub up: &'a [(String, SocketAddr)],
    pub recording: &'a Recording,
    pub inside: &'a mut Inside,
}

impl Watcher {
    /// A client holds an AT reply for `entry`: poll every running server.
    pub fn track(&mut self, entry: &Entry, servers: &[String], now: Duration) {
        for server in servers {
            let pair = self
                .pairs
                .entry((server.clone(), entry.client.clone()))
                .or_default();
            if pair.want.as_ref().is_none_or(|w| !w.at_least(entry)) {
                pair.want = Some(entry.clone());
            }
            pair.next_at = now;
            pair.interval = FIRST_INTERVAL;
            self.active.insert((server.clone(), entry.client.clone()));
        }
    }

    /// A client is about to send `bytes`.
    pub fn sending(&mut self, bytes: &[u8]) {
        self.clients
            .extend(lines(bytes).filter_map(iamat).map(|i| i.client));
    }

    /// Asks every running server about every client sent once more.
    pub fn start_round(&mut self, servers: &[String], now: Duration) {
        for server in servers {
            for client in &self.clients {
                let key = (server.clone(), client.clone());
                self.pairs.entry(key.clone()).or_default().in_round = true;
                self.active.insert(key);
            }
        }
        self.round = Some(Round {
            started: now,
            answers: Vec::new(),
        });
    }

    /// The round's answers, once every pair has answered.
    pub fn round_done(&mut self) -> Option<Answers> {
        if self.round.is_none() || self.active.iter().any(|k| self.pairs[k].in_round) {
            return None;
        }
        self.round.take().map(|r| r.answers)
    }

    /// `server` started again, empty.
    pub fn restarted(&mut self, server: &str) {
        for ((s, _), pair) in self.pairs.iter_mut() {
            if s == server {
                pair.visible = None;
            }
        }
    }

    pub fn tick(&mut self, t: Tick) {
        self.collect(&t);
        self.launch(t);
        let pairs = &self.pairs;
        self.active.retain(|k| {
            let p = &pairs[k];
            p.want.is_some() || p.in_round || p.poll.is_some()
        });
    }

    fn collect(&mut self, t: &Tick) {
        for key @ (server, client) in &self.active {
            let Some(pair) = self.pairs.get_mut(key) else {
                continue;
            };
            let Some(answer) = pair.poll.as_ref().and_then(|p| p.answer.borrow_mut().take()) else {
                continue;
            };
            let launched = pair.poll.take().map_or(t.now, |p| p.launched);
            self.in_flight -= 1;
            let reply = answer.unwrap_or_default();
            if let Some(round) = self
                .round
                .as_mut()
                .filter(|r| pair.in_round && launched >= r.started)
            {
                round
                    .answers
                    .push((server.clone(), client.clone(), reply.clone()));
                pair.in_round = false;
            }
            let shown = first_entry(&reply).filter(|e| e.client == *client);
            see(t.recording, server, &mut pair.visible, shown);
            if pair
                .want
                .as_ref()
                .is_some_and(|w| pair.visible.as_ref().is_some_and(|v| v.at_least(w)))
            {
                pair.want = None;
            }
            pair.next_at = t.now + pair.interval;
            pair.interval = (pair.interval * 2).min(MAX_INTERVAL);
        }
    }

    fn launch(&mut self, t: Tick) {
        for key @ (server, client) in &self.active {
            let Some(pair) = self.pairs.get_mut(key) else {
                continue;
            };
            let Some((_, addr)) = t.up.iter().find(|(s, _)| s == server) else {
                // A server that is down answers nothing: the round goes on without it.
                pair.in_round = false;
                continue;
            };
            let due = pair.in_round || (pair.want.is_some() && t.now >= pair.next_at);
            if pair.poll.is_some() || !due || self.in_flight >= MAX_IN_FLIGHT {
                continue;
            }
            let ask_line = format!("WHATSAT {client} {READ_ARGS}\n");
            t.inside.sending(server, ask_line.as_bytes());
            let answer = Answer::default();
            let slot = answer.clone();
            let addr = *addr;
            tokio::task::spawn_local(async move {
                let reply = ask(addr, ask_line.as_bytes(), POLL_TIMEOUT).await;
                *slot.borrow_mut() = Some(reply);
            });
            pair.poll = Some(Poll {
                launched: t.now,
                answer,
            });
            self.in_flight += 1;
        }
    }
}

/// The AT line a WHATSAT answer starts with.
fn first_entry(reply: &[u8]) -> Option<Entry> {
    let first = lines(reply).next()?;
    Entry::from_at_line(&String::from_utf8_lossy(first))
}

/// Records what a poll of `server` showed, if it changed.
fn see(recording: &Recording, server: &str, visible: &mut Option<Entry>, shown: Option<Entry>) {
    if *visible == shown {
        return;
    }
    let before = visible.as_ref().and_then(update_of);
    match shown.as_ref().and_then(update_of) {
        Some(update) => {
            let source = if update.origin == server {
                Source::Client(0)
            } else {
                Source::Neighbour(POLL.to_string())
            };
            let event = ServerEvent::Stored {
                update,
                replaced: before,
                source,
            };
            recording.server(server, event);
        }
        None => {
            if let Some(update) = before {
                recording.server(server, ServerEvent::Evicted { update });
            }
        }
    }
    *visible = shown;
}

/// The update an AT line shows, as the server's own types hold it.
fn update_of(entry: &Entry) -> Option<Update> {
    Some(Update {
        origin: entry.origin.clone(),
        skew: Skew(entry.skew_ns),
        client: entry.client.clone(),
        location: Location::parse(&entry.location).ok()?,
        time: ClientTime::parse(&entry.time).ok()?,
    })
}
