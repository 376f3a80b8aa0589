//! Log files of running servers: the `herd` binary under a burst of
//! IAMATs logs every line it received and sent, none dropped, by the time
//! SIGTERM has stopped it, and refuses a level it cannot read; two linked
//! servers log heartbeats and store changes only at debug.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use common::log_lines::{self, parse, Parsed};
use common::procs::{connect, free_ports, herd, scratch, Proc, PATIENCE};
use common::{fast_tuning, Deadline};
use herd::clock::SystemClock;
use herd::config::{HerdConfig, LogSettings};
use herd::local::{LocalHerd, Observers};
use herd::log::{ServerLog, Threshold};
use herd::places::FakePlaces;

const CONNECTIONS: usize = 4;
const PER_CONNECTION: usize = 1_500;

fn iamat(c: usize, i: usize) -> String {
    format!("IAMAT burst-{c}-{i} +34.068930-118.445127 1700000000.{i:09}")
}

/// Sends every IAMAT of connection `c` in one go (from a second thread,
/// so that neither side waits on the other), then reads every reply.
fn burst(port: u16, c: usize) {
    let stream = connect(port);
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut sender = stream.try_clone().unwrap();
    let lines: String = (0..PER_CONNECTION).map(|i| iamat(c, i) + "\n").collect();
    let sending = std::thread::spawn(move || sender.write_all(lines.as_bytes()).expect("send"));
    let mut replies = BufReader::new(stream);
    for i in 0..PER_CONNECTION {
        let mut reply = String::new();
        replies.read_line(&mut reply).expect("a reply in time");
        let echoed = iamat(c, i).replacen("IAMAT ", " ", 1) + "\n";
        assert!(
            reply.starts_with("AT Solo ") && reply.ends_with(&echoed),
            "{reply:?}"
        );
    }
    sending.join().unwrap();
}

#[test]
fn every_iamat_of_a_burst_and_every_reply_is_in_the_log() {
    let dir = scratch("log-burst");
    let logs = dir.join("logs");
    let port = free_ports(1)[0];
    let config = dir.join("herd.toml");
    // RUST_LOG wins over the file: no `stored` lines for the burst.
    let toml = format!("[[server]]\nname = \"Solo\"\nport = {port}\n\n[log]\nlevel = \"debug\"\n");
    std::fs::write(&config, toml).unwrap();
    let mut command = herd();
    command
        .args(["serve", "Solo", "--places", "fake", "--config"])
        .arg(&config)
        .arg("--log-dir")
        .arg(&logs)
        .env("RUST_LOG", "herd=info");
    let mut server = Proc::spawn(command, &dir, "herd").expect("spawn herd");

    std::thread::scope(|s| {
        for c in 0..CONNECTIONS {
            s.spawn(move || burst(port, c));
        }
    });
    server.stop().expect("a clean exit");

    let lines: Vec<Parsed> = log_lines::lines(&logs, "Solo").iter().map(|l| parse(l)).collect();
    let count = |kind: &str, prefix: &str| {
        let texts: Vec<String> = lines
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| l.text("line"))
            .filter(|t| t.starts_with(prefix))
            .collect();
        let distinct: BTreeSet<&String> = texts.iter().collect();
        assert_eq!(distinct.len(), texts.len(), "a {kind} line twice");
        texts.len()
    };
    let n = CONNECTIONS * PER_CONNECTION;
    assert_eq!(count("recv", "IAMAT burst-"), n, "IAMATs received");
    assert_eq!(count("send", "AT Solo "), n, "AT replies sent");
    assert!(
        lines.iter().any(|l| l.kind == "shutdown"),
        "the log was not flushed at exit"
    );
    assert!(
        !lines.iter().any(|l| l.kind == "stored"),
        "RUST_LOG=herd=info did not win over [log] level = \"debug\""
    );
}

#[test]
fn a_bad_level_is_one_error_line() {
    let output = herd()
        .args(["serve", "--all", "--places", "fake"])
        .env("RUST_LOG", "herd=loud")
        .output()
        .expect("run herd");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().count() == 1
            && stderr.starts_with("error: RUST_LOG = \"herd=loud\" is not a log level"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_and_store_changes_are_logged_only_at_debug() {
    let dir = scratch("log-levels");
    let mut herd = HerdConfig::from_toml(
        "links = [[\"Left\", \"Right\"]]\n[[server]]\nname = \"Left\"\nport = 0\n[[server]]\nname = \"Right\"\nport = 0\n",
        "levels",
    )
    .expect("valid herd");
    herd.tuning = fast_tuning();
    let open = |name: &str, threshold| {
        ServerLog::open(
            &dir,
            name,
            &LogSettings::default(),
            threshold,
            Arc::new(SystemClock),
        )
        .expect("log")
    };
    let (left_log, right_log) = (open("Left", Threshold::INFO), open("Right", Threshold::DEBUG));
    let (left, right) = (left_log.observer(), right_log.observer());
    let observers: Observers = Arc::new(move |name| {
        if name == "Left" {
            left.clone()
        } else {
            right.clone()
        }
    });
    let running = LocalHerd::start_observed(&herd, Arc::new(FakePlaces), observers)
        .await
        .expect("herd starts");

    let mut client = common::LineClient::connect(running.addr("Left")).await;
    let reply = client.ask("IAMAT kiwi +34.068930-118.445127 1700000000").await;
    assert!(reply.starts_with("AT Left "), "{reply}");
    // Right logs the heartbeats it receives: once one from Left is in its
    // file, Left has sent heartbeats too, and logged none of them.
    let deadline = Deadline::after(PATIENCE, "Right logs a heartbeat from Left");
    while !log_lines::lines(&dir, "Right")
        .iter()
        .map(|l| parse(l))
        .any(|l| l.kind == "recv" && l.text("peer") == "Left" && l.text("line") == "HERD PING")
    {
        deadline.tick().await;
    }
    running.shutdown().await;
    left_log.close();
    right_log.close();

    let kinds_and_lines = |name: &str| -> Vec<(String, String)> {
        log_lines::lines(&dir, name)
            .iter()
            .map(|l| parse(l))
            .map(|p| (p.kind.clone(), p.text("line")))
            .collect()
    };
    let left = kinds_and_lines("Left");
    let right = kinds_and_lines("Right");
    let has =
        |log: &[(String, String)], kind: &str, line: &str| log.iter().any(|(k, l)| k == kind && l == line);
    assert!(
        left.iter().any(|(k, _)| k == "link_up"),
        "Left never linked: {left:?}"
    );
    assert!(
        !has(&left, "send", "HERD PING") && !has(&left, "recv", "HERD PING"),
        "{left:?}"
    );
    assert!(!left.iter().any(|(k, _)| k == "stored"), "{left:?}");
    assert!(has(&right, "send", "HERD PING"), "{right:?}");
    assert!(right.iter().any(|(k, _)| k == "stored"), "{right:?}");
}
