//! The `herd` binary as a user runs it: help, printing the herd, config
//! errors, and a real two-server herd served, used, stopped with SIGTERM,
//! and read back from its log files.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::procs::{connect, free_ports, herd, scratch, Proc, PATIENCE};
use herd::config::HerdConfig;

fn run(args: &[&str]) -> Output {
    herd().args(args).output().expect("run herd")
}

fn serve(args: &[&str]) -> Command {
    let mut command = herd();
    command.args(args);
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn write_file(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write file");
    path
}

/// Asserts the run failed with exactly one stderr line, `error: ...`, and
/// returns that line.
fn one_error_line(output: &Output) -> String {
    assert!(!output.status.success(), "exited {:?}", output.status);
    let stderr = text(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line on stderr, got {stderr:?}");
    assert!(lines[0].starts_with("error: "), "{stderr:?}");
    lines[0].to_string()
}

#[test]
fn help_lists_the_subcommands() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    for command in ["serve", "config"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from:\n{stdout}"
        );
    }
}

#[test]
fn config_prints_the_default_herd() {
    let output = run(&["config"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    let parsed = HerdConfig::from_toml(&printed, "stdout").expect("`herd config` prints a valid herd");
    assert_eq!(parsed, HerdConfig::default_herd());
    for name in ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"] {
        assert!(printed.contains(&format!("name = \"{name}\"")), "{printed}");
    }
}

/// A file with its own settings prints every one of them, `[tuning]` and
/// `[log]` included, in a form that loads back to the same herd.
#[test]
fn config_prints_a_files_settings_so_they_load_back() {
    let dir = scratch("print-settings");
    let contents = "[[server]]\nname = \"A\"\nport = 7000\nlink_port = 7100\n\n\
                    [tuning]\nheartbeat_ms = 200\nflooding = \"pruned\"\n\n[log]\nlevel = \"debug\"\n";
    let path = write_file(&dir, "herd.toml", contents);
    let output = run(&["config", "--config", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printed = text(&output.stdout);
    for line in [
        "link_port = 7100",
        "heartbeat_ms = 200",
        "flooding = \"pruned\"",
        "level = \"debug\"",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line} missing from:\n{printed}"
        );
    }
    let file = HerdConfig::from_toml(contents, "herd.toml").unwrap();
    assert_eq!(HerdConfig::from_toml(&printed, "stdout").unwrap(), file);
}

#[test]
fn a_bad_config_file_is_one_error_line_naming_file_line_and_column() {
    let dir = scratch("bad-config");
    let cases = [
        // A value of the wrong type: the value's position.
        ("type.toml", "[[server]]\nname = \"A\"\nport = \"x\"\n", "3:8"),
        // A link to a server that does not exist: the bad name's position.
        (
            "link.toml",
            "links = [[\"A\", \"Nobody\"]]\n\n[[server]]\nname = \"A\"\nport = 1\n",
            "1:16",
        ),
        // A setting out of its range: the value's position.
        (
            "tuning.toml",
            "[[server]]\nname = \"A\"\nport = 1\n\n[tuning]\nheartbeat_ms = 0\n",
            "6:16",
        ),
    ];
    for (name, contents, at) in cases {
        let path = write_file(&dir, name, contents);
        for args in [vec!["config", "--config"], vec!["serve", "--all", "--config"]] {
            let mut args = args.clone();
            let path_text = path.to_str().unwrap();
            args.push(path_text);
            let line = one_error_line(&run(&args));
            assert!(
                line.starts_with(&format!("error: {path_text}:{at}: ")),
                "{args:?}: {line}"
            );
        }
    }
}

#[test]
fn a_missing_config_file_is_one_error_line_saying_why_once() {
    let dir = scratch("missing-config");
    let path = dir.join("absent.toml");
    let line = one_error_line(&run(&["config", "--config", path.to_str().unwrap()]));
    assert!(
        line.starts_with(&format!("error: {}: ", path.display())),
        "{line}"
    );
    assert_eq!(
        line.matches("No such file or directory").count(),
        1,
        "the reason is repeated: {line}"
    );
}

#[test]
fn serving_an_unknown_server_is_an_error() {
    let line = one_error_line(&run(&[
        "serve",
        "Nobody",
        "--places",
        "fake",
        "--log-dir",
        scratch("nobody").to_str().unwrap(),
    ]));
    assert!(line.contains("Nobody"), "{line}");
}

#[test]
fn a_port_in_use_is_an_error_naming_the_server() {
    let dir = scratch("port-in-use");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = write_file(
        &dir,
        "herd.toml",
        &format!("[[server]]\nname = \"Busy\"\nport = {port}\n"),
    );
    let mut child = Proc::spawn(
        serve(&[
            "serve",
            "--all",
            "--places",
            "fake",
            "--config",
            config.to_str().unwrap(),
            "--log-dir",
            dir.to_str().unwrap(),
        ]),
        &dir,
        "herd",
    )
    .expect("spawn herd");
    let status = child.wait(PATIENCE).expect("herd exits");
    assert!(!status.success());
    let stderr = child.stderr();
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(&format!("Busy: cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Self {
        let stream = connect(port);
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Self {
            reader: BufReader::new(stream),
        }
    }

    fn ask(&mut self, line: &[u8]) -> Vec<u8> {
        let stream = self.reader.get_mut();
        stream.write_all(line).unwrap();
        stream.write_all(b"\n").unwrap();
        self.line()
    }

    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("a reply in time");
        assert_eq!(
            line.pop(),
            Some(b'\n'),
            "connection closed mid-line: {:?}",
            line.escape_ascii().to_string()
        );
        line
    }
}

#[test]
fn serve_all_runs_the_herd_until_sigterm_and_logs_every_line() {
    let dir = scratch("serve");
    let logs = dir.join("logs");
    let ports = free_ports(2);
    let config = write_file(
        &dir,
        "herd.toml",
        &format!(
            "links = [[\"Left\", \"Right\"]]\n\n[[server]]\nname = \"Left\"\nport = {}\n\n[[server]]\nname = \"Right\"\nport = {}\n\n\
             [tuning]\nheartbeat_ms = 100\ndead_after_ms = 400\nbackoff_min_ms = 20\nbackoff_max_ms = 200\n",
            ports[0], ports[1]
        ),
    );
    let mut herd = Proc::spawn(
        serve(&[
            "serve",
            "--all",
            "--config",
            config.to_str().unwrap(),
            "--places",
            "fake",
            "--log-dir",
            logs.to_str().unwrap(),
        ]),
        &dir,
        "herd",
    )
    .expect("spawn herd");

    let mut left = Client::connect(ports[0]);
    let at = left.ask(b"IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1520023934.918963997");
    let at = text(&at);
    assert!(
        at.starts_with("AT Left +")
            && at.ends_with(" kiwi.cs.ucla.edu +34.068930-118.445127 1520023934.918963997"),
        "{at}"
    );
    // Bytes that would corrupt a log read in a terminal, or forge a line.
    let hostile = b"HELLO \x1b[31mred \xc3\xbc\x7f\rFAKE";
    let mut refusal = b"? ".to_vec();
    refusal.extend_from_slice(hostile);
    assert_eq!(left.ask(hostile), refusal);

    // The two servers are linked: Right learns what Left was told.
    let mut right = Client::connect(ports[1]);
    let start = Instant::now();
    loop {
        let first = text(&right.ask(b"WHATSAT kiwi.cs.ucla.edu 5 2"));
        if first == at {
            // The rest of the reply, up to its empty line.
            while !right.line().is_empty() {}
            break;
        }
        assert_eq!(first, "? WHATSAT kiwi.cs.ucla.edu 5 2");
        assert!(start.elapsed() < PATIENCE, "Right never learned kiwi");
        std::thread::sleep(Duration::from_millis(10));
    }

    // SIGTERM with a client still connected: a clean, prompt exit.
    let status = Command::new("kill")
        .args(["-TERM", &herd.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let status = herd.wait(PATIENCE).expect("herd exits");
    assert!(status.success(), "exited {status:?}; stderr:\n{}", herd.stderr());
    let mut rest = Vec::new();
    let _ = std::io::Read::read_to_end(&mut left.reader, &mut rest);
    assert!(rest.is_empty(), "{:?}", rest.escape_ascii().to_string());

    let left_log = std::fs::read(logs.join("Left.log")).expect("Left.log");
    let right_log = std::fs::read(logs.join("Right.log")).expect("Right.log");
    let left_log = String::from_utf8(left_log).expect("the log is plain text");
    let right_log = String::from_utf8(right_log).expect("the log is plain text");
    assert!(
        left_log.contains(r"HELLO \x1b[31mred \xc3\xbc\x7f\rFAKE"),
        "escaped line missing:\n{left_log}"
    );
    assert!(
        !left_log.contains('\x1b') && !left_log.contains('\r'),
        "raw control bytes in the log"
    );
    assert!(
        !left_log.lines().any(|l| l.starts_with("FAKE")),
        "a client forged a log line"
    );
    assert!(
        left_log.contains("IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1520023934.918963997"),
        "{left_log}"
    );
    assert!(right_log.contains("WHATSAT kiwi.cs.ucla.edu 5 2"), "{right_log}");
    assert!(right_log.contains("kiwi.cs.ucla.edu"), "{right_log}");
}
