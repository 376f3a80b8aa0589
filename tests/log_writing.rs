//! How a server's log reaches the disk: across rotated files with none
//! lost and each under its cap, and soon after the event when the server
//! is quiet.

mod common;

use std::sync::Arc;

use common::log_lines::{self, parse};
use common::procs::scratch;
use common::FixedClock;
use common::{Deadline, PATIENCE};
use herd::clock::SystemClock;
use herd::config::LogSettings;
use herd::log::{ServerLog, Threshold};
use herd::observe::Event;

#[test]
fn rotation_keeps_every_line_and_each_file_under_its_cap() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2_000;
    let lines_of = |max_files: usize, max_file_bytes: u64| {
        let dir = scratch(&format!("log-rotate-{max_files}"));
        let settings = LogSettings {
            max_file_bytes,
            max_files,
            ..LogSettings::default()
        };
        let log =
            ServerLog::open(&dir, "S", &settings, Threshold::INFO, Arc::new(FixedClock(0))).expect("log");
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let observer = log.observer();
                s.spawn(move || {
                    for i in 0..PER_THREAD {
                        let line = format!("IAMAT t{t}-{i} +34.068930-118.445127 1");
                        observer.event(&Event::ClientLine {
                            conn: t as u64,
                            line: line.as_bytes(),
                        });
                    }
                });
            }
        });
        log.close();
        let files = log_lines::files(&dir, "S");
        for file in &files {
            let size = std::fs::metadata(file).expect("log file").len();
            assert!(size <= max_file_bytes, "{} holds {size} bytes", file.display());
        }
        (files.len(), log_lines::lines(&dir, "S"))
    };

    // Room for everything: across the rotation boundaries, every line is
    // there once, whole, and each thread's lines in the order it sent them.
    let (files, lines) = lines_of(1_000, 16 << 10);
    assert!(files > 10, "only {files} files: nothing was rotated");
    assert_eq!(runs(&lines), [Some((0, PER_THREAD)); THREADS]);

    // Two rotated files kept: at most three files; what is left of each
    // thread's lines is its last ones, with no gap.
    let (files, lines) = lines_of(2, 16 << 10);
    assert_eq!(files, 3);
    let runs = runs(&lines);
    assert!(lines.len() < THREADS * PER_THREAD, "nothing was deleted");
    for run in runs.iter().flatten() {
        assert_eq!(run.1, PER_THREAD, "{runs:?}");
    }

    /// Per thread, the first and one past the last number among `lines`,
    /// which must run without a gap.
    fn runs(lines: &[String]) -> [Option<(usize, usize)>; THREADS] {
        let mut runs = [None; THREADS];
        for line in lines {
            let text = parse(line).text("line");
            let id = text.split(' ').nth(1).expect("a client id");
            let (t, i) = id[1..].split_once('-').expect("t<thread>-<i>");
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            let run: &mut Option<(usize, usize)> = &mut runs[t];
            let (first, end) = run.get_or_insert((i, i));
            assert_eq!(i, *end, "thread {t}'s lines from {first} on: {line}");
            *end += 1;
        }
        runs
    }
}

#[tokio::test]
async fn a_quiet_servers_line_reaches_the_file_without_closing() {
    let dir = scratch("log-quiet");
    let log = ServerLog::open(
        &dir,
        "S",
        &LogSettings::default(),
        Threshold::INFO,
        Arc::new(SystemClock),
    )
    .expect("open log");
    log.observer().event(&Event::Shutdown);
    let deadline = Deadline::after(PATIENCE, "the line is in the file");
    while !std::fs::read_to_string(log.path())
        .unwrap_or_default()
        .contains(" shutdown\n")
    {
        deadline.tick().await;
    }
    log.close();
}
