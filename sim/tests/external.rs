//! External mode end to end: `herd-sim run --external` grading real herds
//! with the conformance suite (scenarios/conformance/).
//!
//! - our herd (`herd serve`, the binary beside herd-sim) passes it, with
//!   the offline Places fake and with the Places stand-in;
//! - the Python asyncio herd of tests/python_herd/ passes it, and each of
//!   its two defects is caught by the scenario named for it, with the exit
//!   code of its class (1 safety, 2 liveness);
//! - a herd that dials its neighbours' real ports gets every link-fault
//!   step reported as skipped, never passed;
//! - no server process outlives herd-sim, on Ctrl-C either.
//!
//! Each herd runs on ports of its own (a `--herd` file per test), in a
//! scratch folder, so the tests run in parallel. Without `python3` (3.11 or
//! newer, for `tomllib`) the Python tests are reported ignored, and why is
//! printed; without the `herd` binary (built by `cargo test --workspace`
//! or `cargo build -p herd`) so are ours.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sim/ is in the workspace")
        .to_path_buf()
}

fn conformance() -> PathBuf {
    root().join("scenarios/conformance")
}

fn herd_binary() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_herd-sim")).with_file_name("herd")
}

fn python_herd(bug: Option<&str>) -> String {
    let server = root().join("tests/python_herd/server.py");
    let bug = bug.map_or(String::new(), |b| format!(" --bug {b}"));
    format!("python3 {} {{name}} {{config}} {{places}}{bug}", server.display())
}

/// Ports handed out in this process, so parallel tests never share one.
static TAKEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A default-herd file on five loopback ports nobody listens on, below
/// the ephemeral range, in a fresh scratch folder.
fn herd_file(dir: &Path) -> (PathBuf, Vec<u16>) {
    let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
    let start = 20_000 + (std::process::id() % 6_000) as u16 * 2;
    let ports: Vec<u16> = (start..32_000)
        .filter(|p| !taken.contains(p) && TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .take(5)
        .collect();
    taken.extend(&ports);
    let mut text = String::from(
        "links = [[\"Goloman\", \"Hands\"], [\"Goloman\", \"Holiday\"], [\"Goloman\", \"Wilkes\"], \
         [\"Hands\", \"Wilkes\"], [\"Holiday\", \"Welsh\"], [\"Holiday\", \"Wilkes\"]]\n",
    );
    for (name, port) in ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
        .iter()
        .zip(&ports)
    {
        text += &format!("\n[[server]]\nname = \"{name}\"\nport = {port}\n");
    }
    let file = dir.join("herd.toml");
    std::fs::write(&file, text).expect("write the herd file");
    (file, ports)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("external-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// One `herd-sim run --external COMMAND` on `paths`, with its own herd.
struct Graded {
    code: i32,
    stdout: String,
    /// The `--json` entries, by scenario.
    runs: Vec<Value>,
    ports: Vec<u16>,
}

impl Graded {
    fn passed(&self, scenario: &str) -> Option<bool> {
        self.runs
            .iter()
            .find(|r| r["scenario"] == scenario)
            .and_then(|r| r["pass"].as_bool())
    }

    fn failing(&self) -> Vec<String> {
        let failing = self.runs.iter().filter(|r| !r["failure"].is_null());
        failing
            .filter_map(|r| r["scenario"].as_str().map(String::from))
            .collect()
    }

    fn check(&self, ok: bool, what: &str) -> Result<(), Failed> {
        if ok {
            return Ok(());
        }
        Err(format!("{what}; exit code {}; herd-sim said:\n{}", self.code, self.stdout).into())
    }
}

fn grade(name: &str, command: &str, paths: &[PathBuf]) -> Graded {
    grade_with(name, |_| command.to_string(), paths)
}

/// `grade`, with a command made knowing the herd file.
fn grade_with(name: &str, command: impl Fn(&Path) -> String, paths: &[PathBuf]) -> Graded {
    let dir = scratch(name);
    let (herd, ports) = herd_file(&dir);
    let json = dir.join("runs.json");
    let output = Command::new(env!("CARGO_BIN_EXE_herd-sim"))
        .current_dir(&dir)
        .arg("run")
        .args(paths)
        .args(["--external", &command(&herd), "--herd"])
        .arg(&herd)
        .arg("--json")
        .arg(&json)
        .env_remove("GOOGLE_PLACES_API_KEY")
        .output()
        .expect("run herd-sim");
    let stdout = text(&output);
    println!("{stdout}");
    let runs = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<Value>>(&t).ok())
        .unwrap_or_default();
    Graded {
        code: output.status.code().unwrap_or(-1),
        stdout,
        runs,
        ports,
    }
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// Every port of the herd is free: nothing herd-sim started is left.
fn nothing_left(graded: &Graded) -> Result<(), Failed> {
    let busy: Vec<u16> = graded
        .ports
        .iter()
        .copied()
        .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_err())
        .collect();
    graded.check(
        busy.is_empty(),
        &format!("ports {busy:?} still taken after herd-sim exited"),
    )
}

fn our_herd_passes() -> Result<(), Failed> {
    let command = format!(
        "{} serve {{name}} --config {{config}} --places fake",
        herd_binary().display()
    );
    let graded = grade("ours", &command, &[conformance()]);
    graded.check(graded.code == 0, "our herd must pass the conformance suite")?;
    graded.check(graded.runs.len() >= 10, "ten scenarios or more")?;
    nothing_left(&graded)
}

fn our_herd_asks_the_places_stand_in() -> Result<(), Failed> {
    let command = format!(
        "GOOGLE_PLACES_API_KEY=stand-in {} serve {{name}} --config {{config}} --places google-legacy \
         --places-url {{places}}",
        herd_binary().display()
    );
    let paths = [conformance().join("whatsat_bounds_and_radius.toml")];
    let graded = grade("ours-places", &command, &paths);
    graded.check(graded.code == 0, "our herd must pass with the Places stand-in")?;
    // Asked through the stand-in, the results are counted: no fallback note.
    graded.check(
        !graded.stdout.contains("shape only"),
        "every WHATSAT went to the stand-in",
    )
}

fn python_herd_passes() -> Result<(), Failed> {
    let graded = grade("python", &python_herd(None), &[conformance()]);
    graded.check(
        graded.code == 0,
        "the correct Python herd must pass the conformance suite",
    )?;
    nothing_left(&graded)
}

/// A defect of the Python herd: the scenario that catches it, the exit
/// code of its class alone, and what the failure says.
fn python_defect(bug: &str, scenario: &str, code: i32, says: &[&str]) -> Result<(), Failed> {
    let suite = grade(
        &format!("python-{bug}"),
        &python_herd(Some(bug)),
        &[conformance()],
    );
    suite.check(
        suite.passed(scenario) == Some(false),
        &format!("{scenario} must catch {bug}"),
    )?;
    println!("{bug} fails: {}", suite.failing().join(", "));
    let file = conformance().join(format!("{scenario}.toml"));
    let alone = grade(&format!("python-{bug}-alone"), &python_herd(Some(bug)), &[file]);
    alone.check(alone.code == code, &format!("{scenario} alone must exit {code}"))?;
    let said = says.iter().any(|s| alone.stdout.contains(s));
    alone.check(said, &format!("the failure must say one of {says:?}"))?;
    nothing_left(&alone)
}

fn a_herd_that_dials_directly_gets_link_faults_skipped() -> Result<(), Failed> {
    // The herd file itself as the config: a hard-coded table of real ports.
    let server = root().join("tests/python_herd/server.py");
    let command = |herd: &Path| {
        format!(
            "python3 {} {{name}} {} {{places}}",
            server.display(),
            herd.display()
        )
    };
    let graded = grade_with(
        "direct",
        command,
        &[conformance().join("partition_then_heal.toml")],
    );
    let skipped = graded.stdout.matches("not supported by this herd").count();
    graded.check(
        skipped == 2,
        "the partition and the heal are both reported skipped",
    )?;
    graded.check(
        graded.stdout.contains("SKIP  partition_then_heal"),
        "the run is a SKIP, not a PASS",
    )?;
    graded.check(
        graded.passed("partition_then_heal") == Some(false),
        "a skipped run is not a pass",
    )?;
    graded.check(
        graded.code == 0 && !graded.stdout.contains("FAIL"),
        "nothing failed",
    )?;
    graded.check(
        graded.stdout.contains("msgs/update -"),
        "no flood cost is made up",
    )
}

fn ctrl_c_stops_every_server() -> Result<(), Failed> {
    let dir = scratch("ctrl-c");
    let (herd, ports) = herd_file(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_herd-sim"))
        .current_dir(&dir)
        .arg("run")
        .arg(conformance().join("silent_death_of_a_server.toml"))
        .args(["--external", &python_herd(None), "--herd"])
        .arg(&herd)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run herd-sim");
    // Once every server listens, the scenario is under way.
    let start = Instant::now();
    while ports.iter().any(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()) {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the herd never started".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let output = child.wait_with_output().expect("herd-sim exits");
    let graded = Graded {
        code: output.status.code().unwrap_or(-1),
        stdout: text(&output),
        runs: Vec::new(),
        ports,
    };
    graded.check(graded.code == 130, "Ctrl-C exits 130")?;
    nothing_left(&graded)
}

/// This very test binary, run with no `python3` on `PATH`, names the
/// Python test it is asked for as ignored and says why: never a pass.
fn without_python_the_python_tests_say_so_and_are_ignored() -> Result<(), Failed> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(me)
        .args(["--exact", "python_herd_passes_the_conformance_suite"])
        .env("PATH", "/nonexistent")
        .output()
        .map_err(|e| e.to_string())?;
    let said = text(&output);
    let ignored = said.contains("python_herd_passes_the_conformance_suite ... ignored")
        && said.contains("external mode tests skipped: no python3")
        && said.contains("0 passed");
    if output.status.success() && ignored {
        Ok(())
    } else {
        Err(format!("without python3 the test must be ignored, loudly; it said:\n{said}").into())
    }
}

/// Why tests that need `python3` with `tomllib` cannot run, if they cannot.
fn python_missing() -> Option<String> {
    match Command::new("python3").args(["-c", "import tomllib"]).output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "python3 cannot import tomllib (Python 3.11+ needed): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("no python3: {e}")),
    }
}

fn main() {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(3);
    let python = python_missing();
    let herd = (!herd_binary().exists()).then(|| {
        format!(
            "{} is not built (cargo build -p herd, or cargo test --workspace)",
            herd_binary().display()
        )
    });
    for why in python.iter().chain(&herd) {
        eprintln!("external mode tests skipped: {why}");
    }
    let ours =
        |name: &str, f: fn() -> Result<(), Failed>| Trial::test(name, f).with_ignored_flag(herd.is_some());
    let py = |name: &str, f: Box<dyn FnOnce() -> Result<(), Failed> + Send>| {
        Trial::test(name, f).with_ignored_flag(python.is_some())
    };
    // Longest first: every trial waits on the wall clock far more than it
    // computes (a run's scenario time, each of its servers mostly idle),
    // so three at a time on two cores keep the wait short; the no-relay
    // suite alone, every scenario of it waiting out its bound, is the floor.
    let trials = vec![
        py(
            "python_no_relay_is_caught_by_flooding_reaches_the_farthest_server",
            Box::new(|| {
                python_defect(
                    "no-relay",
                    "flooding_reaches_the_farthest_server",
                    2,
                    &["not converged within"],
                )
            }),
        ),
        py(
            "python_herd_passes_the_conformance_suite",
            Box::new(python_herd_passes),
        ),
        py(
            "python_stale_overwrite_is_caught_by_newest_wins",
            Box::new(|| {
                python_defect(
                    "stale-overwrite",
                    "newest_wins",
                    1,
                    &["went back in time", "after convergence"],
                )
            }),
        ),
        ours("our_herd_passes_the_conformance_suite", our_herd_passes),
        ours(
            "our_herd_asks_the_places_stand_in",
            our_herd_asks_the_places_stand_in,
        ),
        py(
            "a_herd_that_dials_directly_gets_link_faults_skipped",
            Box::new(a_herd_that_dials_directly_gets_link_faults_skipped),
        ),
        py("ctrl_c_stops_every_server", Box::new(ctrl_c_stops_every_server)),
        Trial::test(
            "without_python_the_python_tests_say_so_and_are_ignored",
            without_python_the_python_tests_say_so_and_are_ignored,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}
