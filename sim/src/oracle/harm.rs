//! Harm that the older checks could not see: what abusive clients, odd
//! tuning and a perturbed network may do to a herd that still answers
//! every client correctly. One `Violation::Harm` each, with a kind of its
//! own for the shrinker.

use std::fmt;

use super::violation::Exchanged;

/// `HarmKind` is derived: the same variants without their data.
#[derive(Debug, Clone, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(name(HarmKind), derive(PartialOrd, Ord, Hash))]
pub enum Harm {
    /// The servers refused their tuning at start, and the scenario does
    /// not say they must (`[world] refused`).
    TuningRefused { message: String },
    /// The servers ran with tuning that the scenario says they must refuse
    /// (`[world] refused`): a value past what the load check allows.
    TuningAccepted { refused: String },
    /// A link between two servers that were up, over a network path with
    /// no fault for a while, went down.
    LinkDropped {
        server: String,
        neighbour: String,
        why: String,
    },
    /// A catch-up dump that no (re)subscription or coalesced `RESYNC` asked for.
    UnaskedDump {
        server: String,
        neighbour: String,
        count: u64,
    },
    /// A neighbour redialled sooner than its backoff allows.
    HotReconnect {
        server: String,
        neighbour: String,
        attempt: u32,
        gap_ms: u64,
        want_ms: u64,
    },
    /// A stranger on the link port, with a herd secret set, received store data.
    Leaked {
        stranger: String,
        server: String,
        line: String,
    },
    /// An AT reply to an IAMAT the server must refuse.
    Accepted {
        by: Exchanged,
        line: String,
        why: String,
    },
    /// A reply carried the Places API key.
    KeyLeaked { by: Exchanged },
    /// A probe's IAMAT had no AT reply within its bound.
    Slow {
        by: Exchanged,
        within_ms: u64,
        took_ms: u64,
        answered: bool,
    },
}

impl HarmKind {
    pub fn name(self) -> &'static str {
        match self {
            HarmKind::TuningRefused => "tuning refused",
            HarmKind::TuningAccepted => "tuning accepted that must be refused",
            HarmKind::LinkDropped => "link dropped while healthy",
            HarmKind::UnaskedDump => "catch-up dump nobody asked for",
            HarmKind::HotReconnect => "redialled inside its backoff",
            HarmKind::Leaked => "store data to a stranger",
            HarmKind::Accepted => "accepted what it must refuse",
            HarmKind::KeyLeaked => "Places key in a reply",
            HarmKind::Slow => "probe not answered in time",
        }
    }
}

impl Harm {
    pub fn kind(&self) -> HarmKind {
        self.into()
    }
}

impl fmt::Display for Harm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Harm::TuningRefused { message } => write!(f, "the servers refused their tuning: {message}"),
            Harm::TuningAccepted { refused } => {
                write!(f, "the servers ran with tuning they must refuse ({refused})")
            }
            Harm::LinkDropped {
                server,
                neighbour,
                why,
            } => write!(
                f,
                "{server} dropped its link with {neighbour} ({why:?}) while both were up and the \
                 network between them had been healthy for longer than a link takes to settle"
            ),
            Harm::UnaskedDump {
                server,
                neighbour,
                count,
            } => write!(
                f,
                "{server} finished catch-up dump number {count} to {neighbour}, which neither a \
                 subscription nor a RESYNC (under pruned flooding, at most one more while one is \
                 under way) asked for"
            ),
            Harm::HotReconnect {
                server,
                neighbour,
                attempt,
                gap_ms,
                want_ms,
            } => write!(
                f,
                "{server} dialled {neighbour} again {gap_ms} ms after its last try, the {attempt}th \
                 without a reset; its backoff allows no sooner than {want_ms} ms"
            ),
            Harm::Leaked {
                stranger,
                server,
                line,
            } => write!(
                f,
                "{stranger}, which does not know the herd secret, received {line:?} from {server}'s link port"
            ),
            Harm::Accepted { by, line, why } => write!(f, "{by}: answered {line:?}, but {why}"),
            Harm::KeyLeaked { by } => write!(f, "{by}: the reply holds the Places API key"),
            Harm::Slow {
                by,
                within_ms,
                took_ms,
                answered,
            } => match answered {
                true => write!(
                    f,
                    "{by}: the AT reply took {took_ms} ms, more than {within_ms} ms"
                ),
                false => write!(
                    f,
                    "{by}: no AT reply in {took_ms} ms; the bound is {within_ms} ms"
                ),
            },
        }
    }
}
