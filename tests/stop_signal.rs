//! `herd serve` stops cleanly on SIGTERM from the moment it takes its
//! first connection. Its servers start one after another; a script that
//! stops the herd as soon as one server answers must not find the process
//! without a handler (the default action kills it: no connection drained,
//! log lines still in memory lost).

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::procs::{free_ports, herd_toml, Setup};
use herd::config::HerdConfig;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[test]
fn sigterm_as_soon_as_the_first_server_answers_stops_cleanly() {
    let herd = HerdConfig::default_herd();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("stop-signal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let ports = free_ports(herd.servers.len());
    let config = dir.join("herd.toml");
    std::fs::write(&config, herd_toml(&herd, &ports, &Setup::default())).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_herd"))
        .args(["serve", "--all", "--places", "fake", "--config"])
        .arg(&config)
        .arg("--log-dir")
        .arg(dir.join("logs"))
        .env_remove("HERD_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("herd starts");
    // The first server of the herd, started first.
    let first = ("127.0.0.1", ports[0]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(first).is_err() {
        assert!(Instant::now() < deadline, "the first server never answered");
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("signal sent");
    let status = child.wait().expect("herd exits");
    assert!(status.success(), "herd exited {status} on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}
