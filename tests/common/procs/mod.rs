//! Real `herd` processes on loopback, for tests and benchmarks: one
//! process (`Proc`), or a whole herd (`HerdProcs`) as one `herd serve NAME`
//! process per server (or all of it in one `herd serve --all`): free ports,
//! a herd TOML, a `HERD_SECRET` per server, output in files, readiness
//! (every server accepts, its links are up, and a marker from every server
//! is answered by every server), signals, pause, kill and restart, memory
//! and CPU from `/proc`, and every process killed when dropped, on a panic
//! too.
//!
//! Blocking std and `nix` only, no runtime, so that benches can include
//! this folder with `#[path]`.
#![allow(dead_code)]

mod client;
mod ports;
mod process;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use herd::config::HerdConfig;

pub use client::*;
pub use ports::*;
pub use process::*;

/// Bound on every single wait here (a connect, a reply, a server coming
/// up, a herd converging): past it the wait is an error, never a hang.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// How a herd is run.
#[derive(Clone, Default)]
pub struct Setup {
    /// The body of the `[tuning]` table, as text so that a binary of
    /// another release gets only the fields it knows.
    pub tuning: String,
    /// The body of a `[log]` table, as text like `tuning`; none when empty.
    pub log: String,
    /// `HERD_SECRET` of each server named here; the others run without.
    pub secrets: BTreeMap<String, String>,
    /// The whole herd in one `herd serve --all` process.
    pub one_process: bool,
    /// Set in the environment of every process (`RUST_LOG`, say).
    pub env: Vec<(String, String)>,
}

impl Setup {
    pub fn tuning(tuning: &str) -> Self {
        Self {
            tuning: tuning.to_string(),
            ..Self::default()
        }
    }

    /// `HERD_SECRET` = `secret(name)` for each server of `herd` where that is `Some`.
    pub fn secrets(mut self, herd: &HerdConfig, secret: impl Fn(&str) -> Option<String>) -> Self {
        for server in &herd.servers {
            if let Some(s) = secret(&server.name) {
                self.secrets.insert(server.name.clone(), s);
            }
        }
        self
    }
}

/// The process that runs every server in `Setup::one_process`.
const ALL: &str = "herd";

/// The herd's processes, and the directory with their config, output and logs.
pub struct HerdProcs {
    /// The herd as started, with the ports in use.
    pub herd: HerdConfig,
    binary: PathBuf,
    setup: Setup,
    dir: PathBuf,
    /// By server name, or one under `ALL`.
    procs: BTreeMap<String, Proc>,
}

impl HerdProcs {
    /// Starts every server of `template` with `tuning` and waits until the
    /// herd is ready (`wait_ready`).
    pub fn start(binary: &Path, template: &HerdConfig, tuning: &str) -> io::Result<Self> {
        let mut procs = Self::launch(binary, template, &Setup::tuning(tuning))?;
        procs.wait_ready()?;
        Ok(procs)
    }

    /// Starts every server of `template` (names and links; its ports, tuning
    /// and log settings are not used) as `setup` says, and waits until each
    /// accepts connections, and nothing more. Ports taken by someone else
    /// meanwhile are picked afresh (twice at most).
    pub fn launch(binary: &Path, template: &HerdConfig, setup: &Setup) -> io::Result<Self> {
        static HERDS: AtomicU64 = AtomicU64::new(0);
        let n = HERDS.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("procs-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let mut procs = Self {
            herd: template.clone(),
            binary: binary.to_path_buf(),
            setup: setup.clone(),
            dir,
            procs: BTreeMap::new(),
        };
        let names = procs.names();
        for attempt in 1.. {
            let ports = free_ports(names.len());
            fs::write(procs.config(), herd_toml(template, &ports, setup))?;
            procs.herd = HerdConfig::from_file(&procs.config()).map_err(io::Error::other)?;
            let labels = procs.labels();
            let started = labels.iter().try_for_each(|label| procs.spawn(label));
            match started.and_then(|()| names.iter().try_for_each(|name| procs.wait_accepting(name))) {
                Ok(()) => break,
                Err(e) if attempt == 3 => return Err(e),
                Err(_) => procs.procs.clear(),
            }
        }
        Ok(procs)
    }

    fn config(&self) -> PathBuf {
        self.dir.join("herd.toml")
    }

    /// Where each server writes `<NAME>.log`.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn names(&self) -> Vec<String> {
        self.herd.servers.iter().map(|s| s.name.clone()).collect()
    }

    /// The processes to run: one per server, or one for all.
    fn labels(&self) -> Vec<String> {
        if self.setup.one_process {
            vec![ALL.to_string()]
        } else {
            self.names()
        }
    }

    fn label<'a>(&self, name: &'a str) -> &'a str {
        if self.setup.one_process {
            ALL
        } else {
            name
        }
    }

    pub fn addr(&self, name: &str) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port(name)))
    }

    pub fn port(&self, name: &str) -> u16 {
        self.herd
            .server(name)
            .unwrap_or_else(|| panic!("no server {name}"))
            .port
    }

    /// The client port of every server, in the order of `names`.
    pub fn ports(&self) -> Vec<u16> {
        self.herd.servers.iter().map(|s| s.port).collect()
    }

    /// The process serving `name` (every name, with `one_process`).
    pub fn process(&self, name: &str) -> &Proc {
        self.procs
            .get(self.label(name))
            .unwrap_or_else(|| panic!("{name} is not running"))
    }

    /// Every running process, each once.
    pub fn processes(&self) -> impl Iterator<Item = &Proc> {
        self.procs.values()
    }

    pub fn pid(&self, name: &str) -> u32 {
        self.process(name).pid()
    }

    fn spawn(&mut self, label: &str) -> io::Result<()> {
        let mut command = herd_at(&self.binary);
        command.arg("serve");
        if label == ALL {
            command.arg("--all");
        } else {
            command.arg(label);
        }
        command
            .arg("--config")
            .arg(self.config())
            .args(["--places", "fake", "--log-dir"])
            .arg(self.log_dir());
        let secrets: Vec<&String> = self
            .names()
            .iter()
            .filter(|name| self.label(name) == label)
            .filter_map(|name| self.setup.secrets.get(name))
            .collect();
        if let Some(secret) = secrets.first() {
            command.env("HERD_SECRET", secret);
        }
        command.envs(self.setup.env.iter().map(|(k, v)| (k, v)));
        let proc = Proc::spawn(command, &self.dir, label)?;
        self.procs.insert(label.to_string(), proc);
        Ok(())
    }

    /// Waits until `name` accepts connections; an error if it exits first.
    fn wait_accepting(&mut self, name: &str) -> io::Result<()> {
        let (addr, label) = (self.addr(name), self.label(name).to_string());
        let proc = self.procs.get_mut(&label).expect("spawned");
        let accepting = poll(PATIENCE, || {
            if let Some(status) = proc.exit_status()? {
                return Err(io::Error::other(format!(
                    "{name} exited ({status}): {}",
                    proc.stderr()
                )));
            }
            Ok(TcpStream::connect_timeout(&addr, PATIENCE).ok().map(drop))
        })?;
        accepting.ok_or_else(|| io::Error::other(format!("{name} does not accept on {addr}")))
    }

    /// The exit status of a server that has exited, `None` while it runs.
    pub fn exit_status(&mut self, name: &str) -> io::Result<Option<ExitStatus>> {
        let label = self.label(name).to_string();
        match self.procs.get_mut(&label) {
            Some(proc) => proc.exit_status(),
            None => Err(io::Error::other(format!("{name} was not started"))),
        }
    }

    pub fn is_running(&mut self, name: &str) -> bool {
        matches!(self.exit_status(name), Ok(None))
    }

    /// Waits until `name` exits (by a signal sent some other way); its status.
    pub fn wait_exit(&mut self, name: &str, limit: Duration) -> io::Result<Option<ExitStatus>> {
        poll(limit, || self.exit_status(name))
    }

    /// SIGSTOPs `name` and waits until it has stopped.
    pub fn pause(&self, name: &str) -> io::Result<()> {
        self.process(name).pause()
    }

    /// SIGCONTs a paused server.
    pub fn resume(&self, name: &str) -> io::Result<()> {
        self.process(name).resume()
    }

    /// SIGKILLs `name` and reaps it (no draining, no last log lines); a
    /// no-op if it is not running.
    pub fn kill(&mut self, name: &str) {
        let label = self.label(name).to_string();
        self.procs.remove(&label);
    }

    /// Starts `name` again (it must not be running), on its port and with
    /// an empty store, and waits until it accepts connections, and nothing more.
    pub fn start_server(&mut self, name: &str) -> io::Result<()> {
        if self.is_running(name) {
            return Err(io::Error::other(format!("{name} is running already")));
        }
        let label = self.label(name).to_string();
        self.spawn(&label)?;
        self.wait_accepting(name)
    }

    /// Kills `name` if it runs, and starts it again (`start_server`).
    pub fn restart(&mut self, name: &str) -> io::Result<()> {
        self.kill(name);
        self.start_server(name)
    }

    /// SIGTERMs every process and waits until each has stopped, cleanly
    /// (and so flushed its log files); what each wrote to stderr, by
    /// server name (by `herd` with `one_process`).
    pub fn stop_all(&mut self) -> io::Result<BTreeMap<String, String>> {
        for proc in self.procs.values() {
            proc.signal(nix::sys::signal::Signal::SIGTERM)?;
        }
        let mut stderr = BTreeMap::new();
        for (label, proc) in &mut self.procs {
            let status = proc.wait(PATIENCE)?;
            if !status.success() {
                let output = proc.stderr();
                return Err(io::Error::other(format!("{label} exited {status}: {output}")));
            }
            stderr.insert(label.clone(), proc.stderr());
        }
        Ok(stderr)
    }

    fn running(&mut self) -> Vec<String> {
        self.names().into_iter().filter(|n| self.is_running(n)).collect()
    }

    /// Waits until every running server's links to its running neighbours
    /// are up, then until a fresh marker sent to each running server is
    /// answered by every running server.
    pub fn wait_ready(&mut self) -> io::Result<()> {
        let running = self.running();
        self.wait_links_up(&running)?;
        for origin in &running {
            let (time, nanos) = fresh_time();
            let client = format!("ready-{origin}");
            let reply = Conn::open(self.addr(origin))?.ask(&format!("IAMAT {client} +0+0 {time}"))?;
            if !reply.starts_with("AT ") {
                return Err(io::Error::other(format!(
                    "{origin} answered {reply:?} to a marker"
                )));
            }
            for name in &running {
                if !wait_held(self.addr(name), &client, nanos, PATIENCE)? {
                    return Err(io::Error::other(format!("{name} never heard {origin}'s marker")));
                }
            }
        }
        Ok(())
    }

    /// The port `name` takes links on (`HERD LINKPORT?`); `None` from a
    /// server that has no link port of its own (an older release).
    pub fn link_port(&self, name: &str) -> io::Result<Option<u16>> {
        let reply = Conn::open(self.addr(name))?.ask("HERD LINKPORT?")?;
        Ok(reply.strip_prefix("HERD LINKPORT ").and_then(|p| p.parse().ok()))
    }

    /// Polls the kernel's socket table until each of `running`'s link
    /// ports has one established link per running neighbour. Servers
    /// without a link port are not checked.
    fn wait_links_up(&self, running: &[String]) -> io::Result<()> {
        let mut want = Vec::new();
        for name in running {
            if let Some(port) = self.link_port(name)? {
                let neighbours = self.herd.neighbours(name);
                let up = neighbours.iter().filter(|n| running.contains(&n.name)).count();
                want.push((name, port, up));
            }
        }
        let mut missing = None;
        let up = poll(PATIENCE, || {
            let established = established_by_port()?;
            let count = |port: &u16| established.get(port).copied().unwrap_or(0);
            missing = want.iter().find(|(_, port, up)| count(port) != *up);
            Ok(missing.is_none().then_some(()))
        })?;
        up.ok_or_else(|| {
            let (name, port, links) = missing.expect("a server is missing links");
            io::Error::other(format!(
                "{name}'s link port {port} does not have its {links} links"
            ))
        })
    }
}

impl Drop for HerdProcs {
    fn drop(&mut self) {
        // Kills every process (Proc's drop) before its files go. A failed
        // run keeps them to look at.
        self.procs.clear();
        if std::thread::panicking() {
            eprintln!(
                "the herd's config, output and logs are kept in {}",
                self.dir.display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
