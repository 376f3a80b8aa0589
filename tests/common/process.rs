//! Real `herd` processes, for the tests that run the binary and for the
//! load bench (which includes this file): each process leads a process
//! group of its own, killed with its group when the caller is done with it
//! or ends early.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a process may take to start listening or to exit.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The `herd` binary under test.
pub fn herd() -> Command {
    herd_at(Path::new(env!("CARGO_BIN_EXE_herd")))
}

/// A `herd` binary, offline (it would pick Google when a key is around)
/// and at its configured log level whatever the caller's `RUST_LOG`.
pub fn herd_at(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command.env_remove("GOOGLE_PLACES_API_KEY").env_remove("RUST_LOG");
    command
}

/// A fresh directory under cargo's scratch space, a new one each call.
pub fn scratch(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}-{call}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Ports free a moment ago. Another process could take one before the
/// herd binds it; the run then fails loudly at startup, not wrongly.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners.iter().map(|l| l.local_addr().unwrap().port()).collect()
}

/// Connects as soon as something listens on `port`.
pub fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(e) => assert!(start.elapsed() < PATIENCE, "nothing listens on {port}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A child process in its own process group.
pub struct Running {
    child: Option<Child>,
    stderr: Option<String>,
}

impl Running {
    pub fn spawn(mut command: Command) -> Self {
        use std::os::unix::process::CommandExt;
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn herd");
        Self {
            child: Some(child),
            stderr: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends `signal` (`TERM`, `KILL`, ...) to the whole process group.
    pub fn signal(&self, signal: &str) {
        let group = format!("-{}", self.pid());
        let status = Command::new("kill")
            .args([&format!("-{signal}"), "--", &group])
            .stderr(Stdio::null())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} -- {group} failed");
    }

    /// Waits for the exit, keeping what the process wrote to stderr.
    pub fn wait(&mut self, patience: Duration) -> ExitStatus {
        let start = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut stderr = String::new();
                let _ = child.stderr.take().expect("piped").read_to_string(&mut stderr);
                self.stderr = Some(stderr);
                self.child = None;
                return status;
            }
            assert!(start.elapsed() < patience, "still running after {patience:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then the exit, which must be a clean one.
    pub fn stop(&mut self) {
        self.signal("TERM");
        let status = self.wait(PATIENCE);
        assert!(status.success(), "exited {status:?}; stderr:\n{}", self.stderr());
    }

    pub fn stderr(&self) -> &str {
        self.stderr.as_deref().expect("exited")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
