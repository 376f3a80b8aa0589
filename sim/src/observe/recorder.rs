//! Where a run's records go: one log shared by every server's recorder,
//! every client host and the driver, in the order things happened.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use herd::observe::{Event, Level, Observer};

use super::record::{Note, Peer, Record, ServerEvent, Source, What};

/// The run's records. Cheap to clone; every clone appends to the same list.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    records: Vec<Record>,
    /// Records handed out and let go.
    dropped: usize,
    /// Whether records are let go once handed out.
    lean: bool,
    /// The time of the latest record.
    last_at: Duration,
}

impl Log {
    /// A log that keeps each record only until `each_since` has handed it
    /// out: a run judged as it goes, with no trace or diagram to make.
    pub fn lean() -> Self {
        let kept = Kept {
            lean: true,
            ..Kept::default()
        };
        Self(Arc::new(Mutex::new(kept)))
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, at: Duration, host: Arc<str>, what: What) {
        let mut kept = self.lock();
        kept.last_at = kept.last_at.max(at);
        kept.records.push(Record { at, host, what });
    }

    /// The time of the latest record, kept or let go.
    pub fn last_at(&self) -> Duration {
        self.lock().last_at
    }

    /// A record of the driver's, host `sim`.
    pub fn note(&self, at: Duration, note: Note) {
        self.push(at, "sim".into(), What::Driver(note));
    }

    /// Hands every record from number `from` on to `f`; returns the number
    /// of records, where the next call should start.
    pub fn each_since(&self, from: usize, mut f: impl FnMut(&Record)) -> usize {
        let mut kept = self.lock();
        let skip = from.saturating_sub(kept.dropped);
        kept.records.iter().skip(skip).for_each(&mut f);
        let total = kept.dropped + kept.records.len();
        if kept.lean {
            kept.dropped = total;
            kept.records.clear();
        }
        total
    }

    /// Every record kept.
    pub fn records(&self) -> Vec<Record> {
        self.lock().records.clone()
    }
}

/// Seconds since the POSIX epoch of the simulation's start
/// (2026-01-01T00:00:00Z): simulated time 0 on every host's clock.
pub const EPOCH_SECS: u64 = 1_767_225_600;

/// Simulated time on the host being run, or zero outside the simulation.
pub fn sim_now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// The observer of one server incarnation: every event, heartbeats
/// included, stamped and kept.
pub struct Recorder {
    host: Arc<str>,
    incarnation: u32,
    log: Log,
}

impl Recorder {
    pub fn new(host: &str, incarnation: u32, log: Log) -> Self {
        Self {
            host: host.into(),
            incarnation,
            log,
        }
    }
}

impl Observer for Recorder {
    fn enabled(&self, _level: Level) -> bool {
        true
    }

    fn event(&self, event: &Event<'_>) {
        let what = What::Server {
            incarnation: self.incarnation,
            event: owned(event),
        };
        self.log.push(sim_now(), self.host.clone(), what);
    }
}

/// The turmoil host behind a socket address (runs inside the simulation).
fn peer(addr: &str) -> Peer {
    let parsed = addr.parse::<std::net::SocketAddr>().ok();
    Peer {
        addr: addr.to_string(),
        host: parsed.and_then(|a| turmoil::reverse_lookup(a.ip())),
        port: parsed.map(|a| a.port()),
    }
}

// Events the server may add later are recorded as `Other` until this
// simulator knows them; today every one is matched.
#[allow(unreachable_patterns)]
fn owned(event: &Event<'_>) -> ServerEvent {
    use ServerEvent as S;
    let text = |s: &str| s.to_string();
    match *event {
        Event::Listening { role, addr } => S::Listening {
            role,
            addr: text(addr),
        },
        Event::Opened { conn, role, peer: p } => S::Opened {
            conn,
            role,
            peer: peer(p),
        },
        Event::Closed { conn, why } => S::Closed { conn, why: text(why) },
        Event::ClientLine { conn, line } => S::ClientLine {
            conn,
            line: line.to_vec(),
        },
        Event::Reply { conn, bytes } => S::Reply {
            conn,
            bytes: bytes.to_vec(),
        },
        Event::Invalid { conn, error } => S::Invalid {
            conn,
            error: error.to_string(),
        },
        Event::PeerRecv {
            conn,
            neighbour,
            message,
        } => S::PeerRecv {
            conn,
            neighbour: text(neighbour),
            message: message.clone(),
        },
        Event::PeerSend {
            conn,
            neighbour,
            message,
        } => S::PeerSend {
            conn,
            neighbour: text(neighbour),
            message: message.clone(),
        },
        Event::PeerInvalid {
            conn,
            neighbour,
            line,
            error,
        } => S::PeerInvalid {
            conn,
            neighbour: text(neighbour),
            line: line.to_vec(),
            error: error.to_string(),
        },
        Event::Stored {
            update,
            replaced,
            source,
        } => S::Stored {
            update: update.clone(),
            replaced: replaced.cloned(),
            source: match source {
                herd::observe::Source::Client(conn) => Source::Client(conn),
                herd::observe::Source::Neighbour(name) => Source::Neighbour(text(name)),
            },
        },
        Event::Evicted { update } => S::Evicted {
            update: update.clone(),
        },
        Event::LinkUp {
            conn,
            neighbour,
            again,
        } => S::LinkUp {
            conn,
            neighbour: text(neighbour),
            again,
        },
        Event::LinkDown { conn, neighbour, why } => S::LinkDown {
            conn,
            neighbour: text(neighbour),
            why: text(why),
        },
        Event::LinkRetry {
            neighbour,
            why,
            delay_ms,
        } => S::LinkRetry {
            neighbour: text(neighbour),
            why: text(why),
            delay_ms,
        },
        Event::FeedUp { conn, neighbour } => S::FeedUp {
            conn,
            neighbour: text(neighbour),
        },
        Event::FeedDown { conn, neighbour, why } => S::FeedDown {
            conn,
            neighbour: text(neighbour),
            why: text(why),
        },
        Event::Refused { conn, claimed, why } => S::Refused {
            conn,
            claimed: text(claimed),
            why: text(why),
        },
        Event::AckGaveUp { neighbour, count } => S::AckGaveUp {
            neighbour: text(neighbour),
            count,
        },
        Event::Places {
            conn,
            status,
            radius_m,
            bound,
        } => S::Places {
            conn,
            status: text(status),
            radius_m: text(radius_m),
            bound,
        },
        Event::Warning { message } => S::Warning {
            message: text(message),
        },
        Event::Shutdown => S::Shutdown,
        _ => S::Other { kind: event.kind() },
    }
}
