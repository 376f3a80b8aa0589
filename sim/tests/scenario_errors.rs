//! A bad scenario file is reported with its file, line and column and
//! what is wrong, never run.

use herd_sim::scenario::{parse, ScenarioError};

fn error(text: &str) -> String {
    match parse(text, "bad.toml", "bad") {
        Ok(_) => panic!("accepted a bad scenario"),
        Err(e @ ScenarioError::Invalid { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_column() {
    let got = error(
        "description = \"x\"\n\n[[step]]\nat_ms = 1\ndo = \"crash\"\nserver = \"Goloman\"\ncolour = 3\n",
    );
    assert!(got.starts_with("bad.toml:3:1: "), "{got}");
    assert!(got.contains("colour"), "{got}");
}

#[test]
fn an_unknown_step_is_named() {
    let got = error("description = \"x\"\n[[step]]\nat_ms = 1\ndo = \"explode\"\n");
    assert!(got.starts_with("bad.toml:4:6: unknown variant"), "{got}");
    assert!(got.contains("explode"), "{got}");
}

#[test]
fn a_server_outside_the_herd_is_refused() {
    let got = error("description = \"x\"\n[[step]]\nat_ms = 1\ndo = \"crash\"\nserver = \"Nowhere\"\n");
    assert_eq!(got, "bad.toml:2:1: \"Nowhere\" is not a server of this herd");
}

#[test]
fn steps_must_not_go_back_in_time() {
    let text = "description = \"x\"\n[[step]]\nat_ms = 5\ndo = \"crash\"\nserver = \"Welsh\"\n\n[[step]]\nat_ms = 4\ndo = \"restart\"\nserver = \"Welsh\"\n";
    assert_eq!(
        error(text),
        "bad.toml:7:1: at_ms 4 is before the previous step's 5"
    );
}

#[test]
fn a_type_error_points_at_the_value() {
    let got = error("description = \"x\"\nseed = \"seven\"\n");
    assert!(got.starts_with("bad.toml:2:8: "), "{got}");
}

#[test]
fn an_inline_herd_is_checked_by_the_herd_config_rules() {
    let text =
        "description = \"x\"\n[herd]\nlinks = [[\"A\", \"B\"]]\n[[herd.server]]\nname = \"A\"\nport = 1\n";
    let got = error(text);
    assert!(got.starts_with("bad.toml:2:1: herd: "), "{got}");
    assert!(
        got.contains("unknown server \\\"B\\\"") || got.contains("\"B\""),
        "{got}"
    );
}

#[test]
fn a_description_is_required() {
    let got = error("seed = 1\n");
    assert!(got.contains("description"), "{got}");
}

#[test]
fn the_default_herd_and_defaults_apply() {
    let scenario = parse("description = \"x\"\n", "ok.toml", "ok").expect("valid");
    assert_eq!(scenario.herd.servers.len(), 5);
    assert!(scenario.herd.servers.iter().all(|s| s.host == s.name));
    assert_eq!(scenario.herd.tuning.heartbeat_ms, 250);
    assert_eq!(scenario.network.latency_ms, [1, 5]);
}

/// The examples in docs/scenarios.md are scenarios the simulator accepts.
#[test]
fn every_example_in_the_docs_parses() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md");
    let text = std::fs::read_to_string(docs).expect("docs/scenarios.md exists");
    let mut checked = 0;
    for block in text.split("```toml\n").skip(1) {
        let block = block.split("```").next().unwrap_or("");
        let scenario = if block.contains("description =") {
            block.to_string()
        } else {
            format!("description = \"docs\"\n{block}")
        };
        if let Err(e) = parse(&scenario, "docs example", "docs") {
            panic!("{e}\n{scenario}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} examples found");
}
