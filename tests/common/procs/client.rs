//! Client connections with bounded waits, fresh client times, and a load
//! of clients on threads of their own.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::PATIENCE;

/// A client time no earlier than the clock and later than any handed out
/// before in this process, as `SECONDS.NNNNNNNNN`.
pub fn fresh_time() -> (String, u128) {
    static LAST: Mutex<u128> = Mutex::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    *last = now.max(*last + 1);
    let nanos = *last;
    (
        format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000),
        nanos,
    )
}

/// The client time of an AT line, in nanoseconds.
pub fn at_time_nanos(at: &str) -> u128 {
    let time = at
        .split(' ')
        .nth(5)
        .unwrap_or_else(|| panic!("not an AT line: {at:?}"));
    let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
    let parse = |s: &str| s.parse::<u128>().unwrap_or_else(|_| panic!("bad time in {at:?}"));
    parse(secs) * 1_000_000_000 + parse(&format!("{frac:0<9}"))
}

/// One client connection; every read and write is bounded by `PATIENCE`.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, PATIENCE)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.set_write_timeout(Some(PATIENCE))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    pub fn send(&mut self, line: &str) -> io::Result<()> {
        self.reader.get_mut().write_all(format!("{line}\n").as_bytes())
    }

    /// The next line, without its `\n`.
    pub fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 || !line.ends_with('\n') {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        line.pop();
        Ok(line)
    }

    /// The next line if one arrives within `limit`, `None` if none does.
    pub fn line_within(&mut self, limit: Duration) -> io::Result<Option<String>> {
        self.reader.get_ref().set_read_timeout(Some(limit))?;
        let line = self.line();
        self.reader.get_ref().set_read_timeout(Some(PATIENCE))?;
        match line {
            Ok(line) => Ok(Some(line)),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn ask(&mut self, line: &str) -> io::Result<String> {
        self.send(line)?;
        self.line()
    }

    /// Reads the reply to a `WHATSAT` sent before: its AT line, or `None`
    /// when the server holds nothing for the client (`? ...`).
    pub fn whatsat_reply(&mut self) -> io::Result<Option<String>> {
        let at = self.line()?;
        if at.starts_with("? ") {
            return Ok(None);
        }
        while !self.line()?.is_empty() {}
        Ok(Some(at))
    }
}

/// The client time `addr` holds for `client`, asked on a new connection.
pub fn held_time(addr: SocketAddr, client: &str) -> io::Result<Option<u128>> {
    let mut conn = Conn::open(addr)?;
    conn.send(&format!("WHATSAT {client} 10 1"))?;
    Ok(conn.whatsat_reply()?.map(|at| at_time_nanos(&at)))
}

/// Polls `addr` until it holds `client` at `time` or newer; false if it
/// still does not after `limit`.
pub fn wait_held(addr: SocketAddr, client: &str, time: u128, limit: Duration) -> io::Result<bool> {
    let held = poll(limit, || Ok(held_time(addr, client)?.filter(|t| *t >= time)))?;
    Ok(held.is_some())
}

/// Calls `attempt` every few milliseconds until it gives `Some`, for at
/// most `limit`; `None` if it never did.
pub fn poll<T>(limit: Duration, mut attempt: impl FnMut() -> io::Result<Option<T>>) -> io::Result<Option<T>> {
    let start = Instant::now();
    loop {
        if let Some(done) = attempt()? {
            return Ok(Some(done));
        }
        if start.elapsed() > limit {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Client connections sending `IAMAT load-<i>` lines back to back, each
/// waiting for its reply before the next, on threads of their own.
pub struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<io::Result<Vec<Duration>>>>,
}

impl Load {
    /// `clients` connections to `addr`, `requests` IAMATs each (or until stopped).
    pub fn start(addr: SocketAddr, clients: usize, requests: usize) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for i in 0..clients {
            let mut conn = Conn::open(addr)?;
            let stop = stop.clone();
            handles.push(std::thread::spawn(move || {
                let mut latencies = Vec::new();
                while latencies.len() < requests && !stop.load(Ordering::Relaxed) {
                    let line = format!("IAMAT load-{i} +34.068930-118.445127 {}", fresh_time().0);
                    let sent = Instant::now();
                    let reply = conn.ask(&line)?;
                    latencies.push(sent.elapsed());
                    if !reply.starts_with("AT ") {
                        return Err(io::Error::other(format!("{line:?} was answered {reply:?}")));
                    }
                }
                Ok(latencies)
            }));
        }
        Ok(Self {
            stop,
            clients: handles,
        })
    }

    /// Stops every client after its current request; every reply latency, sorted.
    pub fn stop(self) -> io::Result<Vec<Duration>> {
        self.stop.store(true, Ordering::Relaxed);
        self.wait()
    }

    /// Waits until every client has sent its requests; every reply latency, sorted.
    pub fn wait(self) -> io::Result<Vec<Duration>> {
        let mut all = Vec::new();
        for client in self.clients {
            all.extend(client.join().expect("load client panicked")?);
        }
        all.sort();
        Ok(all)
    }
}
