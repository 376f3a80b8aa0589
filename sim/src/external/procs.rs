//! The herd's processes: one `sh -c COMMAND` per server, each leading a
//! process group of its own, so that a signal reaches whatever the command
//! started. stdout and stderr go to `<NAME>.out` and `<NAME>.err` in the
//! run's folder (appended to on a restart). A crash is SIGKILL, a silent
//! death SIGSTOP; a restart kills what is left and runs the command again.
//!
//! Every process group started is registered until it is reaped, so that
//! Ctrl-C or SIGTERM (`kill_registered`) and a panic (`Drop`) stop them all;
//! the shell also dies with herd-sim (`PR_SET_PDEATHSIG`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Where the Places stand-in is, for herds that read it from the
/// environment rather than from `{places}`.
pub const PLACES_ENV: &str = "HERD_SIM_PLACES_URL";

/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Process groups started and not yet reaped, by leader pid.
static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn groups() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    GROUPS.lock().unwrap_or_else(|p| p.into_inner())
}

/// SIGKILLs every process group this process started and has not reaped:
/// for Ctrl-C and SIGTERM, before herd-sim exits.
pub fn kill_registered() {
    for &pgid in groups().iter() {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

pub struct Procs {
    dir: PathBuf,
    /// The shell command line of each server.
    commands: BTreeMap<String, String>,
    env: Vec<(String, String)>,
    children: BTreeMap<String, Child>,
}

impl Procs {
    /// `commands`: each server's command line; `dir`: the run's folder.
    pub fn new(dir: &Path, commands: BTreeMap<String, String>, places_url: &str) -> Self {
        // A server the shell started outlives the shell for a moment when
        // its group is killed; as subreaper we can wait for it.
        let _ = nix::sys::prctl::set_child_subreaper(true);
        Self {
            dir: dir.to_path_buf(),
            commands,
            env: vec![(PLACES_ENV.to_string(), places_url.to_string())],
            children: BTreeMap::new(),
        }
    }

    /// Runs `name`'s command (it must not be running).
    pub fn spawn(&mut self, name: &str) -> io::Result<()> {
        let output = |ext: &str| {
            File::options()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{name}.{ext}")))
        };
        let line = self
            .commands
            .get(name)
            .ok_or_else(|| io::Error::other(format!("no command for {name}")))?;
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(line)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output("out")?)
            .stderr(output("err")?)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from));
        }
        let child = command.spawn()?;
        groups().insert(child.id() as i32);
        self.children.insert(name.to_string(), child);
        Ok(())
    }

    fn signal(&self, name: &str, signal: Signal) {
        if let Some(child) = self.children.get(name) {
            let _ = killpg(Pid::from_raw(child.id() as i32), signal);
        }
    }

    /// SIGSTOP: the process stays, silent; its sockets stay open.
    pub fn pause(&self, name: &str) {
        self.signal(name, Signal::SIGSTOP);
    }

    /// SIGCONT: a paused server goes on where it stopped.
    pub fn resume(&self, name: &str) {
        self.signal(name, Signal::SIGCONT);
    }

    /// SIGKILLs `name`'s process group (paused or not) and reaps all of
    /// it, so that its ports are free when this returns.
    pub fn kill(&mut self, name: &str) {
        if let Some(mut child) = self.children.remove(name) {
            let group = Pid::from_raw(child.id() as i32);
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
            // What the shell started comes to us once the shell is gone (we
            // are its subreaper); wait for every one of them.
            while waitpid(Pid::from_raw(-group.as_raw()), None).is_ok() {}
            groups().remove(&group.as_raw());
        }
    }

    /// How `name` ended, if its command has exited by itself.
    pub fn exited(&mut self, name: &str) -> Option<ExitStatus> {
        self.children.get_mut(name)?.try_wait().ok().flatten()
    }

    /// The last lines `name` wrote to stderr, for an error message.
    pub fn stderr_tail(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(format!("{name}.err"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }

    /// SIGTERM to every server (SIGCONT first: a stopped process would not
    /// act on it), a grace period for each whole group to exit (a server
    /// may flush its log), then SIGKILL for what is left.
    pub async fn stop_all(&mut self) {
        let names: Vec<String> = self.children.keys().cloned().collect();
        for name in &names {
            self.signal(name, Signal::SIGCONT);
            self.signal(name, Signal::SIGTERM);
        }
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        let mut left = names.clone();
        while !left.is_empty() && tokio::time::Instant::now() < deadline {
            left.retain(|name| !self.children.get(name).is_some_and(|c| gone(c.id() as i32)));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        names.iter().for_each(|n| self.kill(n));
    }
}

/// Reaps what has exited of a process group; true once nothing of it is left.
fn gone(group: i32) -> bool {
    loop {
        match waitpid(Pid::from_raw(-group), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return false,
            Ok(_) => continue,
            Err(_) => return true,
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        let names: Vec<String> = self.children.keys().cloned().collect();
        names.iter().for_each(|n| self.kill(n));
    }
}
