//! One run's observations as owned, typed data: what each server reported
//! through its recorder, what each client host sent and received, and what
//! the driver did, each stamped with simulated time and host.

use std::sync::Arc;
use std::time::Duration;

pub use herd::observe::{ConnId, Role};
use herd::protocol::{PeerMessage, Update};

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Simulated time since the run started.
    pub at: Duration,
    /// A server, a client host, or `sim` (the driver).
    pub host: Arc<str>,
    pub what: What,
}

// Nearly every record is a server's: boxing its event would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// A server's event; `incarnation` counts its (re)starts from 1, and
    /// connection numbers start again with each.
    Server {
        incarnation: u32,
        event: ServerEvent,
    },
    Client(ClientEvent),
    Driver(Note),
}

/// The address a server saw a connection come from, and the turmoil host
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub addr: String,
    pub host: Option<String>,
    pub port: Option<u16>,
}

impl Peer {
    /// `kiwi:49152`, or the address when the host is unknown.
    pub fn label(&self) -> String {
        match (&self.host, self.port) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => self.addr.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Client(ConnId),
    Neighbour(String),
}

/// `herd::observe::Event`, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Listening {
        role: Role,
        addr: String,
    },
    Opened {
        conn: ConnId,
        role: Role,
        peer: Peer,
    },
    Closed {
        conn: ConnId,
        why: String,
    },
    ClientLine {
        conn: ConnId,
        line: Vec<u8>,
    },
    Reply {
        conn: ConnId,
        bytes: Vec<u8>,
    },
    Invalid {
        conn: ConnId,
        error: String,
    },
    PeerRecv {
        conn: ConnId,
        neighbour: String,
        message: PeerMessage,
    },
    PeerSend {
        conn: ConnId,
        neighbour: String,
        message: PeerMessage,
    },
    PeerInvalid {
        conn: ConnId,
        neighbour: String,
        line: Vec<u8>,
        error: String,
    },
    Stored {
        update: Update,
        replaced: Option<Update>,
        source: Source,
    },
    Evicted {
        update: Update,
    },
    LinkUp {
        conn: ConnId,
        neighbour: String,
        again: bool,
    },
    LinkDown {
        conn: ConnId,
        neighbour: String,
        why: String,
    },
    LinkRetry {
        neighbour: String,
        why: String,
        delay_ms: u64,
    },
    FeedUp {
        conn: ConnId,
        neighbour: String,
    },
    FeedDown {
        conn: ConnId,
        neighbour: String,
        why: String,
    },
    Refused {
        conn: ConnId,
        claimed: String,
        why: String,
    },
    AckGaveUp {
        neighbour: String,
        count: usize,
    },
    Places {
        conn: ConnId,
        status: String,
        radius_m: String,
        bound: u8,
    },
    Warning {
        message: String,
    },
    Shutdown,
    /// An event kind this simulator does not know yet.
    Other {
        kind: &'static str,
    },
}

impl ServerEvent {
    /// A heartbeat, sent or received.
    pub fn is_heartbeat(&self) -> bool {
        matches!(
            self,
            ServerEvent::PeerRecv {
                message: PeerMessage::Ping,
                ..
            } | ServerEvent::PeerSend {
                message: PeerMessage::Ping,
                ..
            }
        )
    }
}

/// What a client host did on one of its connections (`port` is its end).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    Sent {
        server: String,
        port: u16,
        bytes: Vec<u8>,
    },
    Received {
        server: String,
        port: u16,
        bytes: Vec<u8>,
    },
    /// The connection is over for the client.
    Ended { server: String, port: u16, end: End },
    /// No connection was made.
    NotConnected { server: String, end: End },
}

/// How an exchange ended for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The server closed, or the client had read what it wanted.
    Done,
    /// The client's deadline passed first.
    TimedOut,
    /// Connecting, writing or reading failed.
    Failed(String),
}

/// What the driver did or saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    Seed {
        seed: u64,
        scenario: String,
    },
    ManyClients {
        count: usize,
        prefix: String,
        servers: Vec<String>,
    },
    Fault(Fault),
    /// How Places answers from now on.
    Places(String),
    /// A `converged` step started waiting.
    Waiting {
        within_ms: u64,
    },
    Converged {
        after_ms: u64,
        clients: usize,
    },
    /// What a `holds` step found (an AT line, or nothing).
    Holds {
        server: String,
        client: String,
        held: Option<String>,
    },
    /// A client holds its AT reply; these servers must answer its reads.
    Acked {
        client: String,
        server: String,
        readers: Vec<String>,
    },
    /// A `converged` step's clients ask every server.
    Polling {
        asks: usize,
    },
    End,
    Fail {
        place: String,
        message: String,
    },
    /// Bulk IAMATs pipelined to `server`.
    Bulk {
        server: String,
        count: usize,
        connections: usize,
    },
    /// Abusive clients set on `server`.
    Abuse {
        server: String,
        attack: String,
        count: usize,
    },
    /// A squatter on `server`'s ports accepted a link from `from`.
    Squatted {
        server: String,
        from: String,
    },
    /// The servers refused their tuning at start; nothing ran.
    Refused {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Partition {
        a: Vec<String>,
        b: Vec<String>,
        oneway: bool,
    },
    Heal {
        a: Vec<String>,
        b: Vec<String>,
        oneway: bool,
    },
    Hold {
        a: Vec<String>,
        b: Vec<String>,
    },
    Release {
        a: Vec<String>,
        b: Vec<String>,
    },
    Latency {
        a: Vec<String>,
        b: Vec<String>,
        ms: u64,
    },
    Loss {
        a: Vec<String>,
        b: Vec<String>,
        rate: f64,
    },
    Crash {
        server: String,
    },
    SilentDeath {
        server: String,
    },
    Restart {
        server: String,
    },
    /// Every connection between two servers was reset.
    Reset {
        a: String,
        b: String,
    },
    Pause {
        server: String,
    },
    Resume {
        server: String,
    },
}
