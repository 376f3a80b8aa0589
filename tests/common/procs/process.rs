//! One `herd` process: the command (offline, at its configured log level),
//! a process group of its own with stdout and stderr in files, signals,
//! pause and resume, its exit, and what `/proc` says of its memory and CPU.

use std::fs::{self, File};
use std::io;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sys::signal::{self, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{poll, PATIENCE};

/// The `herd` binary of this build.
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
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Connects as soon as something listens on `port`.
pub fn connect(port: u16) -> TcpStream {
    let connected = poll(PATIENCE, || Ok(TcpStream::connect(("127.0.0.1", port)).ok()));
    connected
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("nothing listens on {port}"))
}

/// A child process leading a process group of its own, killed with its
/// group when dropped, and by the kernel if the thread that started it
/// dies (`PR_SET_PDEATHSIG`), so an interrupted run leaves nothing behind.
pub struct Proc {
    child: Child,
    /// `<out>.out` and `<out>.err` hold what it printed.
    out: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `command` with its output in `<dir>/<name>.out` and `.err`.
    pub fn spawn(mut command: Command, dir: &Path, name: &str) -> io::Result<Self> {
        let out = dir.join(name);
        let file = |ext: &str| {
            File::options()
                .create(true)
                .append(true)
                .open(out.with_extension(ext))
        };
        command
            .stdin(Stdio::null())
            .stdout(file("out")?)
            .stderr(file("err")?)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from));
        }
        Ok(Self {
            child: command.spawn()?,
            out,
            status: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the process group.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        signal::killpg(Pid::from_raw(self.pid() as i32), signal).map_err(io::Error::from)
    }

    /// SIGSTOPs it and waits until every thread has stopped (a signal only
    /// asks; a busy process may run on for a while).
    pub fn pause(&self) -> io::Result<()> {
        self.signal(Signal::SIGSTOP)?;
        let pid = Pid::from_raw(self.pid() as i32);
        match waitpid(pid, Some(WaitPidFlag::WUNTRACED)).map_err(io::Error::from)? {
            WaitStatus::Stopped(..) => Ok(()),
            other => Err(io::Error::other(format!("pid {pid} did not stop: {other:?}"))),
        }
    }

    pub fn resume(&self) -> io::Result<()> {
        self.signal(Signal::SIGCONT)
    }

    /// Its exit status once it has exited, `None` while it runs.
    pub fn exit_status(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits up to `limit` for it to exit.
    pub fn wait(&mut self, limit: Duration) -> io::Result<ExitStatus> {
        poll(limit, || self.exit_status())?
            .ok_or_else(|| io::Error::other(format!("pid {} still runs after {limit:?}", self.pid())))
    }

    /// SIGTERM, then the exit, which must be a clean one.
    pub fn stop(&mut self) -> io::Result<()> {
        if self.exit_status()?.is_none() {
            self.signal(Signal::SIGTERM)?;
        }
        let status = self.wait(PATIENCE)?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "exited {status}; stderr:\n{}",
                self.stderr()
            )));
        }
        Ok(())
    }

    /// SIGKILLs the group and reaps the process.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.signal(Signal::SIGKILL);
            self.status = self.child.wait().ok();
        }
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.out.with_extension("err")).unwrap_or_default()
    }

    /// Resident memory (`VmRSS` in `/proc/PID/status`), in bytes.
    pub fn rss_bytes(&self) -> Option<u64> {
        rss_bytes(self.pid())
    }

    /// CPU time it has used, user and system, all threads.
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(self.pid())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Resident memory of process `pid` (`VmRSS` in `/proc/PID/status`), in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// `utime + stime` of process `pid` from `/proc/PID/stat` (every thread's,
/// in clock ticks of `CLK_TCK`, 100 a second on Linux).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    const TICKS_PER_SECOND: u64 = 100;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields count from the last `)`.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    // utime and stime are fields 14 and 15, so 11 and 12 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}
