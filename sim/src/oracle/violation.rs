//! What a failed check found, as data. The message a person reads is
//! rendered from it; code that needs to tell failures apart (the explorer's
//! shrinker) compares `ViolationKind`s, never text.

use std::fmt;

use super::harm::{Harm, HarmKind};
use super::text::nanos_text;

/// A wrong answer or broken invariant, or a herd that did not converge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    Safety,
    Liveness,
}

/// Who sent what to whom: `kiwi sent "IAMAT ..." to Goloman`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchanged {
    pub client: String,
    /// What was sent, escaped and shortened.
    pub sent: String,
    pub server: String,
}

impl fmt::Display for Exchanged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sent \"{}\" to {}", self.client, self.sent, self.server)
    }
}

/// Why a `converged` step is not satisfied yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unconverged {
    /// IAMATs sent to running servers and not answered yet.
    Unanswered(usize),
    /// (server, client) pairs short of what they must hold; a few of them.
    Gaps { count: usize, examples: Vec<Gap> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// A server holds less than a client was told, or than its group holds.
    Behind {
        server: String,
        client: String,
        held: Option<String>,
        want: String,
    },
    /// Two servers that reach each other hold different updates.
    Disagree {
        client: String,
        a: String,
        a_holds: Option<String>,
        b: String,
        b_holds: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A store change took a client back to an older update.
    BackInTime {
        server: String,
        client: String,
        held: String,
        now: String,
    },
    /// A server stored an update that no client sent to its origin.
    NeverSent {
        server: String,
        update: String,
    },
    /// A store change reported replacing something other than what the
    /// server's earlier reports left there.
    Misreported {
        server: String,
        client: String,
        mirror: Option<String>,
        reported: Option<String>,
    },
    /// More updates flooded between servers than any loop-free flood sends.
    FloodCost {
        sent: u64,
        iamats: u64,
        bound: u64,
        restarts: u64,
    },
    /// A Places request with a radius no WHATSAT asked for, in metres.
    PlacesRadius {
        radius_m: String,
        asked_m: Vec<String>,
    },
    /// An AT reply whose skew is not receive time minus client time.
    Skew {
        by: Exchanged,
        line: String,
        skew: String,
        received_ns: i128,
        from_ns: i128,
        to_ns: i128,
    },
    /// An AT reply to an IAMAT in the wrong form.
    MalformedAt {
        by: Exchanged,
        line: String,
        why: &'static str,
    },
    /// A client's `HERD AT` line was not refused.
    Planted {
        by: Exchanged,
        seen: String,
    },
    /// A WHATSAT reply that is not an AT line, JSON and an empty line.
    WhatsatShape {
        by: Exchanged,
        why: String,
    },
    /// A reply that is not what the scenario step expects.
    WrongReply {
        by: Exchanged,
        want: String,
        seen: String,
    },
    /// Right after a client held its AT reply, a server that must know the
    /// update answered with something older.
    StaleRead {
        client: String,
        reader: String,
        acked: String,
        seen: String,
    },
    /// After convergence, a server answered WHATSAT with something older
    /// than the newest update the client was told of.
    StalePoll {
        server: String,
        client: String,
        want: String,
        seen: String,
    },
    /// A `holds` step found something else.
    Holds {
        server: String,
        client: String,
        held: Option<String>,
        want: String,
    },
    /// A `holds` step asked a server that is down.
    NotRunning {
        server: String,
    },
    NotConverged {
        within_ms: u64,
        why: Unconverged,
    },
    /// Clients still waiting long after the end: each as `label at server (place)`.
    NoReply {
        waiting: Vec<String>,
    },
    HostFailed {
        error: String,
    },
    BadStep {
        why: String,
    },
    /// A client host has more work queued than it may.
    Overloaded {
        host: String,
        queued: usize,
    },
    Harm(Harm),
}

/// The kind of a violation, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    BackInTime,
    NeverSent,
    Misreported,
    FloodCost,
    PlacesRadius,
    Skew,
    MalformedAt,
    Planted,
    WhatsatShape,
    WrongReply,
    StaleRead,
    StalePoll,
    Holds,
    NotRunning,
    NotConverged,
    NoReply,
    HostFailed,
    BadStep,
    Overloaded,
    Harm(HarmKind),
}

impl ViolationKind {
    pub fn name(self) -> &'static str {
        use ViolationKind::*;
        match self {
            BackInTime => "went back in time",
            NeverSent => "update no client sent",
            Misreported => "store change misreported",
            FloodCost => "flood cost",
            PlacesRadius => "places radius",
            Skew => "skew",
            MalformedAt => "malformed AT reply",
            Planted => "HERD AT from a client answered",
            WhatsatShape => "WHATSAT reply shape",
            WrongReply => "wrong answer",
            StaleRead => "stale read after ack",
            StalePoll => "stale WHATSAT after convergence",
            Holds => "holds",
            NotRunning => "server not running",
            NotConverged => "no convergence",
            NoReply => "client never answered",
            HostFailed => "host failed",
            BadStep => "bad step",
            Overloaded => "client host overloaded",
            Harm(kind) => kind.name(),
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Violation {
    pub fn kind(&self) -> ViolationKind {
        use Violation as V;
        use ViolationKind as K;
        match self {
            V::BackInTime { .. } => K::BackInTime,
            V::NeverSent { .. } => K::NeverSent,
            V::Misreported { .. } => K::Misreported,
            V::FloodCost { .. } => K::FloodCost,
            V::PlacesRadius { .. } => K::PlacesRadius,
            V::Skew { .. } => K::Skew,
            V::MalformedAt { .. } => K::MalformedAt,
            V::Planted { .. } => K::Planted,
            V::WhatsatShape { .. } => K::WhatsatShape,
            V::WrongReply { .. } => K::WrongReply,
            V::StaleRead { .. } => K::StaleRead,
            V::StalePoll { .. } => K::StalePoll,
            V::Holds { .. } => K::Holds,
            V::NotRunning { .. } => K::NotRunning,
            V::NotConverged { .. } => K::NotConverged,
            V::NoReply { .. } => K::NoReply,
            V::HostFailed { .. } => K::HostFailed,
            V::BadStep { .. } => K::BadStep,
            V::Overloaded { .. } => K::Overloaded,
            V::Harm(harm) => K::Harm(harm.kind()),
        }
    }

    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Violation::NotConverged { .. } => FailureKind::Liveness,
            _ => FailureKind::Safety,
        }
    }
}

fn or_nothing(held: &Option<String>) -> &str {
    held.as_deref().unwrap_or("nothing")
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gap::Behind {
                server,
                client,
                held,
                want,
            } => write!(f, "{server} holds {} for {client}, want {want}", or_nothing(held)),
            Gap::Disagree {
                client,
                a,
                a_holds,
                b,
                b_holds,
            } => write!(
                f,
                "{a} holds {} for {client} but {b} holds {}",
                or_nothing(a_holds),
                or_nothing(b_holds)
            ),
        }
    }
}

impl fmt::Display for Unconverged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unconverged::Unanswered(n) => write!(f, "{n} IAMATs still without a reply"),
            Unconverged::Gaps { count, examples } => {
                let examples: Vec<String> = examples.iter().map(Gap::to_string).collect();
                write!(
                    f,
                    "{count} (server, client) pairs behind, e.g. {}",
                    examples.join("; ")
                )
            }
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Violation as V;
        match self {
            V::BackInTime {
                server,
                client,
                held,
                now,
            } => write!(
                f,
                "{server} went back in time for {client}: held {held}, now {now}"
            ),
            V::NeverSent { server, update } => write!(f, "{server} holds an update no client sent: {update}"),
            V::Misreported {
                server,
                client,
                mirror,
                reported,
            } => write!(
                f,
                "{server} reported replacing {} for {client}, but its earlier store changes left {}",
                or_nothing(reported),
                or_nothing(mirror)
            ),
            V::FloodCost {
                sent,
                iamats,
                bound,
                restarts,
            } => write!(
                f,
                "flood cost: {sent} HERD AT lines sent between servers for {iamats} client updates, \
                 at most {bound} possible without a forwarding loop ({restarts} restarts)"
            ),
            V::PlacesRadius { radius_m, asked_m } => write!(
                f,
                "a Places request asked for radius {radius_m} m, which no WHATSAT asked for \
                 (WHATSAT radii in metres: {})",
                asked_m.join(", ")
            ),
            V::Skew {
                by,
                line,
                skew,
                received_ns,
                from_ns,
                to_ns,
            } => write!(
                f,
                "{by}: skew {skew} in {line:?} gives a receive time of {}, but the server's receive time \
                 was a whole ms between {} and {}: the skew must be receive time minus client time, exactly",
                nanos_text(*received_ns),
                nanos_text(*from_ns),
                nanos_text(*to_ns)
            ),
            V::MalformedAt { by, line, why } => write!(f, "{by}: {why} in {line:?}"),
            V::Planted { by, seen } => write!(
                f,
                "{by}: a HERD line from a client must get \"? \" and the line; saw \"{seen}\""
            ),
            V::WhatsatShape { by, why } => write!(f, "{by}: {why}"),
            V::WrongReply { by, want, seen } => write!(f, "{by}: {want}; saw \"{seen}\""),
            V::StaleRead {
                client,
                reader,
                acked,
                seen,
            } => write!(
                f,
                "{client} held the AT reply {acked:?}, then {reader} answered its WHATSAT with \"{seen}\": \
                 an acknowledged update must be readable at every server the origin can reach"
            ),
            V::StalePoll {
                server,
                client,
                want,
                seen,
            } => write!(
                f,
                "after convergence {server} answered WHATSAT {client} with \"{seen}\", want {want} or newer"
            ),
            V::Holds {
                server,
                client,
                held,
                want,
            } => write!(f, "{server} holds {} for {client}; want {want}", or_nothing(held)),
            V::NotRunning { server } => write!(f, "{server} is not running"),
            V::NotConverged { within_ms, why } => write!(f, "not converged within {within_ms} ms: {why}"),
            V::NoReply { waiting } => {
                let shown = waiting.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
                let more = waiting.len().saturating_sub(5);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                write!(f, "{} client replies never came: {shown}{more}", waiting.len())
            }
            V::HostFailed { error } => write!(f, "a host failed: {error}"),
            V::BadStep { why } => f.write_str(why),
            V::Overloaded { host, queued } => {
                write!(
                    f,
                    "client host {host} has {queued} jobs queued, more than it may hold"
                )
            }
            V::Harm(harm) => harm.fmt(f),
        }
    }
}
