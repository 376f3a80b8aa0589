//! Real `herd` processes, for the tests that run the binary and for the
//! benches that include this file: each process leads a process group of
//! its own, killed with its group when the caller is done with it or ends
//! early. `ProcessHerd` runs a whole herd that way, a process per server.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use herd::config::HerdConfig;

/// How long a process may take to start listening or to exit.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The `herd` binary under test.
pub fn herd() -> Command {
    herd_at(Path::new(env!("CARGO_BIN_EXE_herd")))
}

/// A `herd` binary, offline (it would pick Google when a key is around),
/// at its configured log level whatever the caller's `RUST_LOG`, and with
/// a herd secret only where the caller sets one.
pub fn herd_at(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .env_remove("GOOGLE_PLACES_API_KEY")
        .env_remove("RUST_LOG")
        .env_remove("HERD_SECRET");
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

    /// Whether the process has exited (its stderr is then kept).
    pub fn exited(&mut self) -> bool {
        let exited = self
            .child
            .as_mut()
            .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))));
        if exited && self.child.is_some() {
            self.wait(PATIENCE);
        }
        exited
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

/// Resident memory of process `pid` (`VmRSS` in `/proc/PID/status`), in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// A herd run as `herd serve NAME` processes, one per server, on loopback
/// ports that were free at start, each logging to `logs()`.
pub struct ProcessHerd {
    /// The herd as it runs: every host loopback, every port filled in.
    pub herd: HerdConfig,
    pub dir: PathBuf,
    binary: PathBuf,
    config: PathBuf,
    secrets: BTreeMap<String, Option<String>>,
    running: BTreeMap<String, Running>,
}

impl ProcessHerd {
    /// Starts every server of `template` (its names and links, fresh
    /// ports) with `tuning` as the body of the `[tuning]` table (empty for
    /// none) and `HERD_SECRET` set to `secret(name)` where that is `Some`,
    /// and waits until each one listens. A port taken by someone else
    /// before its server could bind it (the herd's own link ports and
    /// connections come from the same pool) costs a new set of ports.
    pub fn start(
        binary: &Path,
        template: &HerdConfig,
        tuning: &str,
        secret: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let secrets: BTreeMap<String, Option<String>> = template
            .servers
            .iter()
            .map(|s| (s.name.clone(), secret(&s.name)))
            .collect();
        for _ in 0..3 {
            let mut this = Self {
                herd: template.clone(),
                dir: scratch("herd"),
                binary: binary.into(),
                config: PathBuf::new(),
                secrets: secrets.clone(),
                running: BTreeMap::new(),
            };
            let ports = free_ports(this.herd.servers.len());
            for (server, port) in this.herd.servers.iter_mut().zip(ports) {
                server.host = "127.0.0.1".into();
                server.port = port;
                server.link_port = None;
            }
            this.config = this.dir.join("herd.toml");
            std::fs::write(&this.config, config_text(&this.herd, tuning)).expect("write config");
            let names = this.names();
            for name in &names {
                this.launch(name);
            }
            if names.iter().all(|name| this.listening(name)) {
                return this;
            }
        }
        panic!("the herd could not bind its ports three times over");
    }

    /// Waits until `name` listens on its port; false if it exited instead.
    fn listening(&mut self, name: &str) -> bool {
        let (port, start) = (self.port(name), Instant::now());
        loop {
            if self.running.get_mut(name).expect("launched").exited() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return true;
            }
            assert!(start.elapsed() < PATIENCE, "{name} does not listen on {port}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.herd.servers.iter().map(|s| s.name.clone()).collect()
    }

    /// The client port of every server, in the order of `names`.
    pub fn ports(&self) -> Vec<u16> {
        self.herd.servers.iter().map(|s| s.port).collect()
    }

    pub fn port(&self, name: &str) -> u16 {
        self.herd
            .server(name)
            .unwrap_or_else(|| panic!("no server {name}"))
            .port
    }

    pub fn pid(&self, name: &str) -> u32 {
        self.running[name].pid()
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    fn launch(&mut self, name: &str) {
        let mut command = herd_at(&self.binary);
        command
            .args(["serve", name, "--places", "fake", "--config"])
            .arg(&self.config)
            .arg("--log-dir")
            .arg(self.logs());
        if let Some(secret) = &self.secrets[name] {
            command.env("HERD_SECRET", secret);
        }
        self.running.insert(name.to_string(), Running::spawn(command));
    }

    /// Waits until every link of a freshly started herd is up both ways:
    /// each server has logged a `feed_up` for each of its neighbours.
    pub fn wait_linked(&self) {
        let want = 2 * self.herd.links.len() as u64;
        let start = Instant::now();
        while super::log_lines::tally(&self.logs()).feed_ups < want {
            assert!(
                start.elapsed() < PATIENCE,
                "the herd did not link within {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills one server at once (SIGKILL: no draining, no last log lines).
    pub fn kill(&mut self, name: &str) {
        let mut server = self.running.remove(name).expect("running");
        server.signal("KILL");
        server.wait(PATIENCE);
    }

    /// Starts a killed or stopped server again on its port, with an empty
    /// store, and waits until it listens.
    pub fn restart(&mut self, name: &str) {
        assert!(!self.running.contains_key(name), "{name} still runs");
        self.launch(name);
        assert!(self.listening(name), "{name} exited at start");
    }

    /// Stops every server with SIGTERM (so every log line is written) and
    /// returns what each wrote to stderr; each must exit cleanly.
    pub fn stop(&mut self) -> BTreeMap<String, String> {
        for server in self.running.values() {
            server.signal("TERM");
        }
        std::mem::take(&mut self.running)
            .into_iter()
            .map(|(name, mut server)| {
                let status = server.wait(PATIENCE);
                assert!(status.success(), "{name} exited {status:?}: {}", server.stderr());
                (name, server.stderr().to_string())
            })
            .collect()
    }
}

impl Drop for ProcessHerd {
    fn drop(&mut self) {
        // Kills every server (Running's drop) before its files go. A
        // failed run keeps its logs to look at.
        self.running.clear();
        if std::thread::panicking() {
            eprintln!("the herd's logs are kept in {}", self.logs().display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The herd file, written out by hand rather than by `HerdConfig` so that
/// older binaries read it too: names, ports and links, plus `tuning`.
fn config_text(herd: &HerdConfig, tuning: &str) -> String {
    let mut text = String::from("links = [\n");
    for (a, b) in &herd.links {
        text += &format!("  [{a:?}, {b:?}],\n");
    }
    text += "]\n";
    for s in &herd.servers {
        text += &format!("\n[[server]]\nname = {:?}\nport = {}\n", s.name, s.port);
    }
    if !tuning.is_empty() {
        text += &format!("\n[tuning]\n{tuning}\n");
    }
    text
}
