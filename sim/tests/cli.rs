//! `herd-sim run` and `herd-sim mutate` as a user runs them: exit codes,
//! what they print, the files they leave.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_herd-sim");

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name)
}

/// A fresh folder of its own for each test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Runs the binary as if started by hand (not by cargo).
fn herd_sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CARGO")
        .env_remove("CARGO_PKG_NAME")
        .output()
        .expect("herd-sim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_folder_without_scenarios_is_an_error() {
    let empty = scratch("empty");
    let out = herd_sim(&["run", empty.to_str().unwrap(), "--no-out"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("no scenario files (*.toml)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one error line: {err}");
}

#[test]
fn a_bad_file_is_one_error_line_at_its_place() {
    let dir = scratch("bad");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "description = \"x\"\n\n[[step]]\nat_ms = 1\ndo = \"converged\"\nwithin = 9\n",
    )
    .unwrap();
    let out = herd_sim(&["run", file.to_str().unwrap(), "--no-out"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    let want = format!(
        "error: {}:6:1: step 1 (converged), within: unknown field",
        file.display()
    );
    assert!(err.starts_with(&want), "{err}");
}

#[test]
fn a_passing_run_ends_with_totals_and_leaves_its_results() {
    let dir = scratch("pass");
    let out_dir = dir.join("results");
    let file = scenario("named_send_read_back.toml");
    let out = herd_sim(&["run", file.to_str().unwrap(), "--out", out_dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[1].starts_with("PASS  named_send_read_back  seed 6  sim 1.501 s  convergence wait "));
    assert_eq!(lines[lines.len() - 2], "1 passed, 0 failed, 0 skipped");
    assert_eq!(lines[lines.len() - 1], format!("results: {}", out_dir.display()));
    let read =
        |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let command = format!("{BIN} run {} --out {}", file.display(), out_dir.display());
    assert!(read("named_send_read_back.trace.txt").starts_with(&format!("# {command}\n")));
    for svg in ["named_send_read_back.svg", "named_send_read_back.plot.svg"] {
        let svg = read(svg);
        assert!(svg.starts_with("<svg") && svg.contains(&format!("<metadata>{command}</metadata>")));
    }
    let stats: serde_json::Value = serde_json::from_str(&read("stats.json")).expect("JSON");
    assert_eq!(stats[0]["command"], command.as_str());
    assert_eq!(stats[0]["pass"], true);
}

#[test]
fn a_failure_names_its_step_in_text_and_json_and_reproduces_with_the_same_program() {
    let dir = scratch("fail");
    let file = dir.join("welsh_early.toml");
    let early = std::fs::read_to_string(scenario("one_way_partition.toml"))
        .unwrap()
        .replace("none = true", "origin = \"Goloman\"");
    std::fs::write(&file, early).unwrap();
    let json = dir.join("runs.json");
    let args = [
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--no-out",
    ];
    let out = herd_sim(&args);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let place = format!("{}:25", file.display());
    assert!(
        stdout.contains(&format!(
            "at {place} (step 4: holds at 2000 ms): Welsh holds nothing for east"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("  reproduce: {BIN} run {} --seed 8\n", file.display())),
        "{stdout}"
    );
    assert!(stdout.ends_with("0 passed, 1 failed, 0 skipped\n"), "{stdout}");
    let runs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failure = &runs[0]["failure"];
    assert_eq!(failure["kind"], "safety");
    assert_eq!(failure["class"], "holds");
    assert_eq!(failure["place"], place.as_str());
    assert_eq!(
        failure["step"],
        serde_json::json!({ "number": 4, "do": "holds", "at_ms": 2000 })
    );
    assert!(failure["message"]
        .as_str()
        .unwrap()
        .starts_with("Welsh holds nothing for east"));

    // Under `cargo run`, the reproduce line is a cargo command for the same profile.
    let by_cargo = Command::new(BIN)
        .args(args)
        .env("CARGO", "cargo")
        .env("CARGO_PKG_NAME", "herd-sim")
        .output()
        .expect("herd-sim runs");
    let profile = Path::new(BIN)
        .parent()
        .and_then(Path::file_name)
        .unwrap()
        .to_string_lossy();
    let cargo = if profile == "release" {
        "cargo run --release -p herd-sim --"
    } else {
        "cargo run -p herd-sim --"
    };
    assert!(
        text(&by_cargo.stdout).contains(&format!("  reproduce: {cargo} run ")),
        "{}",
        text(&by_cargo.stdout)
    );
}

#[test]
fn a_sweep_reports_progress_on_stderr_when_it_is_not_a_terminal() {
    let file = scenario("named_send_read_back.toml");
    let out = herd_sim(&["run", file.to_str().unwrap(), "--runs", "3", "--no-out"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("run: 3/3 runs, 0 failing"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("3 passed, 0 failed, 0 skipped"));
}

#[test]
fn mutate_says_which_bugs_a_scenario_catches_and_flags_one_that_catches_none() {
    let dir = scratch("mutate");
    let idle = dir.join("says_hello.toml");
    let steps = "description = \"A client sends junk and is told so.\"\n\n[[step]]\nat_ms = 100\ndo = \"client\"\nclient = \"c\"\nserver = \"Hands\"\nsend = \"HELLO\"\nexpect = \"? HELLO\"\n";
    std::fs::write(&idle, steps).unwrap();
    let out = herd_sim(&["mutate", idle.to_str().unwrap(), "--quiet"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("CATCHES NO BUG"), "{stdout}");

    let good = scenario("named_send_read_back.toml");
    let out = herd_sim(&["mutate", good.to_str().unwrap(), "--quiet"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("  caught  float-skew"), "{stdout}");
    assert!(stdout.contains("  missed  no-reconnect"), "{stdout}");
    let bugs = herd::bugs::Bug::ALL.len();
    assert!(stdout.contains(&format!(" of {bugs} bugs")), "{stdout}");
}

#[test]
fn explore_writes_every_seed_to_json() {
    let dir = scratch("explore");
    let json = dir.join("seeds.json");
    let (json_arg, out_arg) = (json.to_str().unwrap(), dir.join("out"));
    let args = [
        "explore",
        "--seeds",
        "0..2",
        "--quiet",
        "--json",
        json_arg,
        "--out",
        out_arg.to_str().unwrap(),
    ];
    let out = herd_sim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let command = format!(
        "{BIN} explore --seeds 0..2 --quiet --json {json_arg} --out {}",
        out_arg.display()
    );
    assert_eq!(written["command"], command.as_str());
    let seeds: Vec<u64> = written["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, [0, 1]);
    assert!(written["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["pass"] == true && s["steps"].as_u64() > Some(0)));
}

#[test]
fn an_external_run_reproduces_with_its_herd_and_keeps_server_output_in_the_results() {
    let dir = scratch("external");
    let herd = dir.join("my herd.toml");
    // The default herd's names and links, on ports nothing listens on.
    let mut text_of_herd = String::from(
        "links = [[\"Goloman\", \"Hands\"], [\"Goloman\", \"Holiday\"], [\"Goloman\", \"Wilkes\"], \
         [\"Hands\", \"Wilkes\"], [\"Holiday\", \"Welsh\"], [\"Holiday\", \"Wilkes\"]]\n",
    );
    for (i, name) in ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
        .iter()
        .enumerate()
    {
        text_of_herd += &format!("\n[[server]]\nname = \"{name}\"\nport = {}\n", i + 1);
    }
    std::fs::write(&herd, text_of_herd).unwrap();
    let (out_dir, json) = (dir.join("results"), dir.join("runs.json"));
    let file = scenario("conformance/exact_replies.toml");
    let command = "echo starting {name}; exit 4";
    let out = herd_sim(&[
        "run",
        file.to_str().unwrap(),
        "--external",
        command,
        "--herd",
        herd.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let reproduce = format!(
        "  reproduce (wall-clock runs vary): {BIN} run {} --seed 1 --external 'echo starting {{name}}; exit 4' --herd '{}'\n",
        file.display(),
        herd.display()
    );
    assert!(stdout.contains(&reproduce), "{stdout}");
    assert!(
        stdout.contains("exited (exit status: 4) before it accepted connections"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed, 0 skipped\n"), "{stdout}");
    // The server whose exit ended the run had echoed first; the others may
    // have been stopped before their shells ran at all.
    let exited = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]
        .into_iter()
        .find(|name| stdout.contains(&format!("{name} exited (exit status: 4)")))
        .unwrap_or_else(|| panic!("no server named as exited: {stdout}"));
    let kept = out_dir.join(format!("servers/exact_replies/{exited}.out"));
    let said = std::fs::read_to_string(&kept).unwrap_or_else(|e| panic!("{}: {e}", kept.display()));
    assert_eq!(said, format!("starting {exited}\n"));
    let runs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(runs[0]["pass"], false);
    assert_eq!(runs[0]["failure"]["place"], "start");

    // --bug switches a bug on in simulated servers only.
    let both = herd_sim(&[
        "run",
        file.to_str().unwrap(),
        "--external",
        command,
        "--bug",
        "stale-overwrite",
    ]);
    assert_eq!(both.status.code(), Some(3));
    assert!(
        text(&both.stderr).contains("cannot be used with"),
        "{}",
        text(&both.stderr)
    );
}
