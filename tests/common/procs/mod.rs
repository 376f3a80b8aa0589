//! A herd of real `herd serve NAME` processes on loopback, for tests and
//! benchmarks: free ports, a herd TOML, one process per server in its own
//! process group with its stdout and stderr in files, readiness (every
//! server accepts, its links are up, and a marker from every server is
//! answered by every server), signals, restarts, and every process killed
//! when the herd is dropped, on a panic too.
//!
//! Blocking std and `nix` only, no runtime: `benches/acks.rs` includes this
//! file with `#[path]`. Processes are started from the thread that starts
//! the herd and die with it (`PR_SET_PDEATHSIG`), so an interrupted test run
//! leaves no server behind.
#![allow(dead_code)]

mod client;
mod ports;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use herd::config::HerdConfig;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

pub use client::*;
pub use ports::*;

/// Bound on every single wait here (a connect, a reply, a server coming
/// up, a herd converging): past it the wait is an error, never a hang.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The herd's processes, and the directory with their config, output and logs.
pub struct HerdProcs {
    /// The herd as started, with the ports in use.
    pub herd: HerdConfig,
    binary: PathBuf,
    dir: PathBuf,
    children: BTreeMap<String, Child>,
}

impl HerdProcs {
    /// Starts every server of `template` (names and links; its ports, tuning
    /// and log settings are not used) as `binary serve NAME`, with `tuning`
    /// as the `[tuning]` table, and waits until the herd is ready. Ports
    /// taken by someone else meanwhile are picked afresh (twice at most).
    pub fn start(binary: &Path, template: &HerdConfig, tuning: &str) -> io::Result<Self> {
        static HERDS: AtomicU64 = AtomicU64::new(0);
        let n = HERDS.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("procs-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let mut procs = Self {
            herd: template.clone(),
            binary: binary.to_path_buf(),
            dir,
            children: BTreeMap::new(),
        };
        let names: Vec<String> = template.servers.iter().map(|s| s.name.clone()).collect();
        for attempt in 1.. {
            let ports = free_ports(names.len());
            fs::write(procs.config(), herd_toml(template, &ports, tuning))?;
            procs.herd = HerdConfig::from_file(&procs.config()).map_err(io::Error::other)?;
            let started = names.iter().try_for_each(|name| procs.spawn(name));
            match started.and_then(|()| names.iter().try_for_each(|name| procs.wait_accepting(name))) {
                Ok(()) => break,
                Err(e) if attempt == 3 => return Err(e),
                Err(_) => names.iter().for_each(|name| procs.kill(name)),
            }
        }
        procs.wait_ready()?;
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

    pub fn addr(&self, name: &str) -> SocketAddr {
        let spec = self
            .herd
            .server(name)
            .unwrap_or_else(|| panic!("no server {name}"));
        SocketAddr::from(([127, 0, 0, 1], spec.port))
    }

    pub fn pid(&self, name: &str) -> u32 {
        self.children
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not running"))
            .id()
    }

    fn spawn(&mut self, name: &str) -> io::Result<()> {
        let output = |ext: &str| {
            File::options()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{name}.{ext}")))
        };
        let mut command = Command::new(&self.binary);
        command
            .arg("serve")
            .arg(name)
            .arg("--config")
            .arg(self.config())
            .args(["--places", "fake", "--log-dir"])
            .arg(self.log_dir())
            .stdin(Stdio::null())
            .stdout(output("out")?)
            .stderr(output("err")?)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from));
        }
        self.children.insert(name.to_string(), command.spawn()?);
        Ok(())
    }

    /// Waits until `name` accepts connections; an error if it exits first.
    fn wait_accepting(&mut self, name: &str) -> io::Result<()> {
        let addr = self.addr(name);
        let accepting = poll(PATIENCE, || {
            if let Some(status) = self.exit_status(name)? {
                let stderr = fs::read_to_string(self.dir.join(format!("{name}.err"))).unwrap_or_default();
                return Err(io::Error::other(format!("{name} exited ({status}): {stderr}")));
            }
            Ok(TcpStream::connect_timeout(&addr, PATIENCE).ok().map(drop))
        })?;
        accepting.ok_or_else(|| io::Error::other(format!("{name} does not accept on {addr}")))
    }

    /// The exit status of a server that has exited, `None` while it runs.
    pub fn exit_status(&mut self, name: &str) -> io::Result<Option<ExitStatus>> {
        match self.children.get_mut(name) {
            Some(child) => child.try_wait(),
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

    pub fn signal(&self, name: &str, signal: Signal) -> io::Result<()> {
        signal::kill(Pid::from_raw(self.pid(name) as i32), signal).map_err(io::Error::from)
    }

    /// SIGSTOPs `name` and waits until every thread of it has stopped
    /// (a signal only asks; a busy process may run on for a while).
    pub fn pause(&self, name: &str) -> io::Result<()> {
        self.signal(name, Signal::SIGSTOP)?;
        let pid = Pid::from_raw(self.pid(name) as i32);
        match waitpid(pid, Some(WaitPidFlag::WUNTRACED)).map_err(io::Error::from)? {
            WaitStatus::Stopped(..) => Ok(()),
            other => Err(io::Error::other(format!("{name} did not stop: {other:?}"))),
        }
    }

    /// SIGCONTs a paused server.
    pub fn resume(&self, name: &str) -> io::Result<()> {
        self.signal(name, Signal::SIGCONT)
    }

    /// SIGKILLs `name`'s process group and reaps it; a no-op if it is not running.
    pub fn kill(&mut self, name: &str) {
        if let Some(mut child) = self.children.remove(name) {
            let _ = signal::killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
    }

    /// Starts `name` again (it must not be running) and waits until it
    /// accepts connections, and nothing more.
    pub fn start_server(&mut self, name: &str) -> io::Result<()> {
        if self.is_running(name) {
            return Err(io::Error::other(format!("{name} is running already")));
        }
        self.spawn(name)?;
        self.wait_accepting(name)
    }

    /// Kills `name` if it runs, starts it again and waits until the herd is ready.
    pub fn restart(&mut self, name: &str) -> io::Result<()> {
        self.kill(name);
        self.start_server(name)?;
        self.wait_ready()
    }

    /// SIGTERMs every server and waits until each has stopped (and so
    /// flushed its log file).
    pub fn stop_all(&mut self) -> io::Result<()> {
        for name in self.names() {
            if self.is_running(&name) {
                self.signal(&name, Signal::SIGTERM)?;
                if self.wait_exit(&name, PATIENCE)?.is_none() {
                    return Err(io::Error::other(format!("{name} did not stop on SIGTERM")));
                }
            }
        }
        Ok(())
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
        for name in self.names() {
            self.kill(&name);
        }
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
