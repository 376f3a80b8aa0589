//! Helpers shared by the socket tests: a herd with short timings, a line
//! client whose every read is bounded, a poller for "eventually" checks,
//! real `herd` processes (`procs`), log files read back (`log_lines`), and
//! clients and posing neighbours that report failures instead of panicking
//! (`clients`, `neighbour`; the attack bench uses them too).
#![allow(dead_code)]

pub mod clients;
pub mod log_lines;
pub mod neighbour;
pub mod procs;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use herd::config::{HerdConfig, Tuning};
use herd::local::LocalHerd;
use herd::places::{fake, FakePlaces, NearbyRequest, Places};
use herd::protocol::{Location, Radius};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any single expected event may take before a test fails. Only
/// liveness waits use it; nothing is asserted about how fast things are.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// The default herd's server names, in config order.
pub const DEFAULT_SERVERS: [&str; 5] = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"];

/// Link timings short enough that a lost link is found and rebuilt within a
/// fraction of `PATIENCE`; client limits left at their defaults.
pub fn fast_tuning() -> Tuning {
    Tuning {
        heartbeat_ms: 100,
        dead_after_ms: 400,
        backoff_min_ms: 20,
        backoff_max_ms: 200,
        places_timeout_ms: 3_000,
        ..Tuning::default()
    }
}

pub fn default_herd(tuning: Tuning) -> HerdConfig {
    let mut herd = HerdConfig::default_herd();
    herd.tuning = tuning;
    herd
}

/// A herd of one server, `Solo`, with no links.
pub fn solo_herd(tuning: Tuning) -> HerdConfig {
    let mut herd =
        HerdConfig::from_toml("[[server]]\nname = \"Solo\"\nport = 0\n", "solo").expect("valid herd");
    herd.tuning = tuning;
    herd
}

pub async fn start(herd: &HerdConfig, places: Arc<dyn Places>) -> LocalHerd {
    LocalHerd::start(herd, places).await.expect("herd starts")
}

/// The default herd with fast link timings and the offline Places fake.
pub async fn start_default_herd() -> LocalHerd {
    start(&default_herd(fast_tuning()), Arc::new(FakePlaces)).await
}

pub fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as i128
}

/// Polls `condition` every few milliseconds until it holds; panics naming
/// `what` if it still does not after `deadline`.
pub async fn wait_until(deadline: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if condition() {
            return;
        }
        assert!(
            start.elapsed() < deadline,
            "gave up after {deadline:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// For "eventually" loops that need IO to check their condition:
/// `deadline.tick().await` between attempts fails the test once the
/// deadline has passed.
pub struct Deadline {
    start: Instant,
    limit: Duration,
    what: String,
}

impl Deadline {
    pub fn after(limit: Duration, what: &str) -> Self {
        Self {
            start: Instant::now(),
            limit,
            what: what.to_string(),
        }
    }

    pub async fn tick(&self) {
        assert!(
            self.start.elapsed() < self.limit,
            "gave up after {:?} waiting until {}",
            self.limit,
            self.what
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The client time every server holds for `client`, `None` where it holds nothing.
pub fn held_times(herd: &LocalHerd, client: &str) -> Vec<Option<String>> {
    herd.herd
        .servers
        .iter()
        .map(|s| {
            herd.state(&s.name)
                .get(client)
                .map(|u| u.time.as_str().to_string())
        })
        .collect()
}

/// Sends `IAMAT <marker> ...` at `server` and waits until every running
/// server holds it. Links are FIFO and a flood follows them hop by hop, so
/// anything `server` forwarded before the marker has then been offered to
/// every server too: a cheap "the herd has gone quiet" barrier.
pub async fn flood_marker(herd: &LocalHerd, server: &str, marker: &str) {
    let mut client = LineClient::connect(herd.addr(server)).await;
    let line = format!("IAMAT {marker} +0+0 {}", now_nanos() / 1_000_000_000);
    let reply = client.ask(&line).await;
    assert!(reply.starts_with(&format!("AT {server} ")), "{reply}");
    let names: Vec<String> = herd
        .herd
        .servers
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| herd.is_running(n))
        .collect();
    wait_until(PATIENCE, &format!("{marker} reaches every server"), || {
        names.iter().all(|n| herd.state(n).get(marker).is_some())
    })
    .await;
}

/// A line-oriented test client: every read is bounded by `PATIENCE`, so a
/// server that never answers fails the test instead of hanging it.
pub struct LineClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl LineClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).await.expect("write");
    }

    /// Closes our sending side (`shutdown(Write)`), as `nc -N` does.
    pub async fn half_close(&mut self) {
        self.stream.shutdown().await.expect("shutdown(Write)");
    }

    /// Sends one line (adding `\n`) and returns the first reply line.
    pub async fn ask(&mut self, line: &str) -> String {
        self.send(format!("{line}\n")).await;
        self.line().await
    }

    /// The next line as text, without its `\n`.
    pub async fn line(&mut self) -> String {
        String::from_utf8(self.line_bytes().await).expect("reply is UTF-8")
    }

    /// The next line as bytes, without its `\n`.
    pub async fn line_bytes(&mut self) -> Vec<u8> {
        let mut line = self.until(b"\n").await;
        line.pop();
        line
    }

    /// A whole WHATSAT reply: everything up to and including the empty
    /// line that ends it.
    pub async fn whatsat_reply(&mut self) -> String {
        String::from_utf8(self.until(b"\n\n").await).expect("reply is UTF-8")
    }

    /// Reads until `end` has arrived; returns everything up to and
    /// including it, keeping the rest for the next call.
    pub async fn until(&mut self, end: &[u8]) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(pos) = self.buf.windows(end.len()).position(|w| w == end) {
                return self.buf.drain(..pos + end.len()).collect();
            }
            let mut chunk = [0u8; 8192];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no {:?} within {PATIENCE:?}; got {:?}",
                        end.escape_ascii().to_string(),
                        self.buf.escape_ascii().to_string()
                    )
                })
                .expect("read");
            assert!(
                n > 0,
                "connection closed before {:?}; got {:?}",
                end.escape_ascii().to_string(),
                self.buf.escape_ascii().to_string()
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Everything until the server closes the connection.
    pub async fn rest_until_closed(&mut self) -> Vec<u8> {
        let mut rest = std::mem::take(&mut self.buf);
        tokio::time::timeout(PATIENCE, self.stream.read_to_end(&mut rest))
            .await
            .expect("server closes the connection in time")
            .expect("read to end");
        rest
    }

    /// Asserts the server has closed the connection: end of stream, or a
    /// reset (closing with unread input makes the kernel send one).
    pub async fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unread reply {:?}",
            self.buf.escape_ascii().to_string()
        );
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk))
            .await
            .expect("closed in time")
        {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected a close, got {:?}",
                chunk[..n].escape_ascii().to_string()
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }

    /// Asserts that nothing arrives for `window`. It can only pass wrongly
    /// (a reply slower than the window), never fail wrongly.
    pub async fn expect_silence(&mut self, window: Duration) {
        let mut chunk = [0u8; 1024];
        if let Ok(read) = tokio::time::timeout(window, self.stream.read(&mut chunk)).await {
            let n = read.expect("read");
            panic!(
                "expected silence, got {:?}",
                chunk[..n].escape_ascii().to_string()
            );
        }
        assert!(
            self.buf.is_empty(),
            "expected silence, had {:?}",
            self.buf.escape_ascii().to_string()
        );
    }
}

/// The fields of an AT line.
#[derive(Debug, PartialEq, Eq)]
pub struct At {
    pub server: String,
    pub skew: String,
    pub client: String,
    pub location: String,
    pub time: String,
}

pub fn parse_at(line: &str) -> At {
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f.len(), 6, "not an AT line: {line:?}");
    assert_eq!(f[0], "AT", "not an AT line: {line:?}");
    At {
        server: f[1].into(),
        skew: f[2].into(),
        client: f[3].into(),
        location: f[4].into(),
        time: f[5].into(),
    }
}

/// Parses `[+-]SECONDS.NNNNNNNNN` (exactly one sign, exactly nine digits)
/// into nanoseconds; panics on any other form.
pub fn skew_nanos(skew: &str) -> i128 {
    let (sign, rest) = skew.split_at(1);
    assert!(sign == "+" || sign == "-", "skew {skew:?} lacks its one sign");
    let (secs, frac) = rest
        .split_once('.')
        .unwrap_or_else(|| panic!("skew {skew:?} has no fraction"));
    assert!(
        !secs.is_empty() && secs.bytes().all(|b| b.is_ascii_digit()),
        "skew {skew:?}"
    );
    assert!(
        frac.len() == 9 && frac.bytes().all(|b| b.is_ascii_digit()),
        "skew {skew:?} wants 9 digits"
    );
    let magnitude = secs.parse::<i128>().unwrap() * 1_000_000_000 + frac.parse::<i128>().unwrap();
    if sign == "-" {
        -magnitude
    } else {
        magnitude
    }
}

/// Nanoseconds of a client time `SECONDS[.FRACTION]`.
pub fn time_nanos(time: &str) -> i128 {
    let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
    let frac = format!("{frac:0<9}");
    secs.parse::<i128>().unwrap() * 1_000_000_000 + frac.parse::<i128>().unwrap()
}

/// A location around which the fake knows at least `want` places in 10 km.
pub fn busy_location(want: usize) -> String {
    (0..1000)
        .map(|i| format!("+{}.5-{}.25", i % 80, i % 170))
        .find(|loc| {
            let l = Location::parse(loc).unwrap();
            let request = NearbyRequest {
                latitude: l.latitude(),
                longitude: l.longitude(),
                radius: Radius::parse("10").unwrap(),
                bound: 20,
            };
            fake::answer(&request)["results"].as_array().unwrap().len() >= want
        })
        .expect("some location has that many places")
}

/// A clock that always reads the same instant, so log lines are exact.
pub struct FixedClock(pub i128);

impl herd::clock::Clock for FixedClock {
    fn now_unix_nanos(&self) -> i128 {
        self.0
    }
}

/// How long the herd of a process test may take to hold an update everywhere.
pub const CONVERGE: Duration = Duration::from_secs(20);

/// Waits until the server on each of `ports` answers WHATSAT for `client`;
/// fails the test if they do not all within `CONVERGE`.
pub async fn held_by_all(ports: &[u16], client: &str) {
    let held = clients::held_by(ports, client, CONVERGE).await;
    assert!(
        held.is_some(),
        "not every server holds {client} within {CONVERGE:?}"
    );
}

/// Sends one IAMAT on a fresh connection to `port`; it must be answered
/// with an AT line, which is returned.
pub async fn told(port: u16, iamat: &str) -> String {
    let reply = clients::tell(port, iamat).await;
    match reply {
        Ok(at) if at.starts_with("AT ") => at,
        other => panic!("{iamat} -> {other:?}"),
    }
}
