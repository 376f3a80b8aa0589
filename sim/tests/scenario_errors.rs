//! A bad scenario file is reported at the file, line and column of the key
//! or value at fault, naming the step, its `do` and the field, with the
//! name meant when a name is misspelt; it is never run.

use herd_sim::scenario::{parse, Action, ScenarioError};

fn error(text: &str) -> String {
    match parse(text, "bad.toml", "bad") {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e @ ScenarioError::Invalid { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// A scenario of `steps` (TOML after the description line).
fn with_steps(steps: &str) -> String {
    format!("description = \"x\"\n{steps}")
}

const KIWI: &str = "\n[[step]]\nat_ms = 500\ndo = \"client\"\nclient = \"kiwi\"\nserver = \"Goloman\"\nsend = \"IAMAT kiwi +1+1 {now}\"\n";

#[test]
fn an_unknown_key_is_pointed_at_with_the_field_meant() {
    let got = error(&with_steps(
        "[[step]]\nat_ms = 1\ndo = \"converged\"\nwithin = 9\n",
    ));
    assert_eq!(
        got,
        "bad.toml:5:1: step 1 (converged), within: unknown field; did you mean \"within_ms\"? \
         (converged takes at_ms, within_ms, poll)"
    );
}

#[test]
fn a_bad_value_is_pointed_at_with_its_field() {
    let got = error(&with_steps(&format!(
        "{KIWI}\n[[step]]\nat_ms = \"2.2s\"\ndo = \"crash\"\nserver = \"Welsh\"\n"
    )));
    assert_eq!(
        got,
        "bad.toml:11:9: step 2 (crash), at_ms: expected a whole number, found string \"2.2s\"; \
         write milliseconds as a number: at_ms = 2200"
    );
    let got = error(&with_steps(
        "[[step]]\nat_ms = 1\ndo = \"partition\"\na = [\"Welsh\"]\nb = [\"Hands\", 3]\n",
    ));
    assert!(got.starts_with("bad.toml:6:"), "{got}");
    assert!(got.contains("step 1 (partition), b: expected a string"), "{got}");
}

#[test]
fn an_unknown_action_is_named_with_the_one_meant() {
    let got = error(&with_steps("[[step]]\nat_ms = 1\ndo = \"partiton\"\n"));
    assert!(
        got.starts_with("bad.toml:4:6: step 1, do: unknown action \"partiton\"; did you mean \"partition\"?"),
        "{got}"
    );
    let got = error(&with_steps("[[step]]\nat_ms = 1\n"));
    assert!(got.starts_with("bad.toml:2:1: step 1: missing `do`"), "{got}");
}

#[test]
fn a_server_outside_the_herd_is_refused_with_the_one_meant() {
    let got = error(&with_steps(
        "[[step]]\nat_ms = 1\ndo = \"crash\"\nserver = \"Golomon\"\n",
    ));
    assert_eq!(
        got,
        "bad.toml:5:10: step 1 (crash), server: \"Golomon\" is not a server of this herd; did you mean \
         \"Goloman\"? (servers: Goloman, Hands, Holiday, Welsh, Wilkes)"
    );
    // In a list, the element at fault.
    let got = error(&with_steps(
        "[[step]]\nat_ms = 1\ndo = \"hold\"\na = [\"Welsh\"]\nb = [\"Hands\", \"Wilks\"]\n",
    ));
    assert!(
        got.starts_with("bad.toml:6:15: step 1 (hold), b: \"Wilks\""),
        "{got}"
    );
    assert!(got.contains("did you mean \"Wilkes\"?"), "{got}");
}

#[test]
fn a_missing_field_names_the_step() {
    let got = error(&with_steps("[[step]]\nat_ms = 1\ndo = \"converged\"\n"));
    assert_eq!(
        got,
        "bad.toml:2:1: step 1 (converged): missing field within_ms (converged takes at_ms, within_ms, poll)"
    );
}

#[test]
fn top_level_and_network_keys_are_checked_too() {
    let got = error("description = \"x\"\nsede = 4\n");
    assert!(
        got.starts_with("bad.toml:2:1: sede: unknown key; did you mean \"seed\"?"),
        "{got}"
    );
    let got = error("description = \"x\"\n[network]\nlatency = [1, 2]\n");
    assert!(
        got.starts_with("bad.toml:3:1: network.latency: unknown key; did you mean \"latency_ms\"?"),
        "{got}"
    );
    let got = error("description = \"x\"\n[tuning]\nheartbeat = 10\n");
    assert!(
        got.starts_with("bad.toml:3:1: tuning.heartbeat: unknown key; did you mean \"heartbeat_ms\"?"),
        "{got}"
    );
    let got = error("description = \"x\"\n[tuning]\nheartbeat_ms = 0\n");
    assert_eq!(
        got,
        "bad.toml:3:16: tuning.heartbeat_ms must be 1 to 600000, not 0"
    );
    let got = error("description = \"x\"\n[network]\nlatency_ms = [5, 1]\n");
    assert_eq!(
        got,
        "bad.toml:3:14: network.latency_ms: must be [min, max] with min <= max"
    );
    let got = error("description = \"x\"\nseed = \"seven\"\n");
    assert!(
        got.starts_with("bad.toml:2:8: seed: expected a whole number"),
        "{got}"
    );
    let got = error("seed = 1\n");
    assert!(got.contains("missing description"), "{got}");
}

#[test]
fn placeholders_are_checked_before_the_run() {
    let got = error(&with_steps(&KIWI.replace("{now}", "{nwo}")));
    assert!(
        got.starts_with(
            "bad.toml:8:25: step 1 (client), send: unknown placeholder {nwo}; did you mean {now}?"
        ),
        "{got}"
    );
    // {now} in holds would be the holds step's own time.
    let holds =
        "\n[[step]]\nat_ms = 900\ndo = \"holds\"\nserver = \"Welsh\"\nclient = \"kiwi\"\ntime = \"{now}\"\n";
    let got = error(&with_steps(&format!("{KIWI}{holds}")));
    assert!(
        got.starts_with("bad.toml:15:9: step 2 (holds), time: {now} is not filled in here"),
        "{got}"
    );
    assert!(got.contains("write time = \"{kiwi.time}\""), "{got}");
    // {n} only in a repeated step.
    let got = error(&with_steps(&KIWI.replace("{now}", "{now} {n}")));
    assert!(got.contains("send: {n} is not filled in here"), "{got}");
}

#[test]
fn a_reference_must_name_a_send_that_runs_before() {
    let named = KIWI.replace("client = \"kiwi\"", "client = \"kiwi\"\nid = \"first\"");
    let holds = |at: u64, id: &str| {
        format!("\n[[step]]\nat_ms = {at}\ndo = \"holds\"\nserver = \"Welsh\"\nclient = \"kiwi\"\ntime = \"{{{id}.time}}\"\n")
    };
    assert!(parse(
        &with_steps(&format!("{named}{}", holds(900, "first"))),
        "ok.toml",
        "ok"
    )
    .is_ok());
    let got = error(&with_steps(&format!("{named}{}", holds(900, "frist"))));
    assert!(
        got.starts_with("bad.toml:16:9: step 2 (holds), time: {frist.time}: no client step has id = \"frist\"; did you mean \"first\"?"),
        "{got}"
    );
    let got = error(&with_steps(&format!("{named}{}", holds(400, "first"))));
    assert!(
        got.contains("first sends at 500 ms, not before this step at 400 ms"),
        "{got}"
    );
    let twice = format!("{named}{}", named.replace("500", "600"));
    let got = error(&with_steps(&twice));
    assert!(
        got.contains("step 2 (client), id: \"first\" is already the id of step 1"),
        "{got}"
    );
}

#[test]
fn a_holds_step_must_ask_about_a_client_some_step_names() {
    let holds =
        "\n[[step]]\nat_ms = 900\ndo = \"holds\"\nserver = \"Welsh\"\nclient = \"kiwl\"\nnone = true\n";
    let got = error(&with_steps(&format!("{KIWI}{holds}")));
    assert!(
        got.starts_with("bad.toml:14:10: step 2 (holds), client: no step sends anything about client \"kiwl\"; did you mean \"kiwi\"?"),
        "{got}"
    );
}

#[test]
fn repetition_needs_a_period_and_an_end() {
    let got = error(&with_steps(&format!("{KIWI}every_ms = 100\n")));
    assert!(
        got.contains("step 1 (client), every_ms: repeats until when?"),
        "{got}"
    );
    let got = error(&with_steps(&format!("{KIWI}count = 3\n")));
    assert!(
        got.contains("count: repeats the step only with every_ms"),
        "{got}"
    );
    let got = error(&with_steps(&format!("{KIWI}every_ms = 1\ncount = 100000\n")));
    assert!(got.contains("it may repeat 1 to 10000 times"), "{got}");
    let got = error(&with_steps(&format!("{KIWI}every_ms = 10\nuntil_ms = 400\n")));
    assert!(
        got.contains("until_ms: 400 is before the step's at_ms 500"),
        "{got}"
    );
}

#[test]
fn a_repeated_step_expands_in_time_order_with_n_filled_in() {
    let text = with_steps(&format!(
        "{}every_ms = 100\nuntil_ms = 800\nid = \"k{{n}}\"\n\n[[step]]\nat_ms = 600\ndo = \"crash\"\nserver = \"Welsh\"\n",
        KIWI.replace("{now}", "{now} {n}")
    ));
    let scenario = parse(&text, "ok.toml", "ok").expect("valid");
    let steps: Vec<(u64, &str, String)> = scenario
        .steps
        .iter()
        .map(|s| {
            let what = match &s.action {
                Action::Client { send, id, .. } => format!("{send} {}", id.clone().unwrap_or_default()),
                other => other.name().to_string(),
            };
            (s.at_ms, s.place.as_str(), what)
        })
        .collect();
    let send = |n: u64| format!("IAMAT kiwi +1+1 {{now}} {n} k{n}");
    assert_eq!(
        steps,
        [
            (500, "ok.toml:3", send(0)),
            (600, "ok.toml:3", send(1)),
            (600, "ok.toml:13", "crash".to_string()),
            (700, "ok.toml:3", send(2)),
            (800, "ok.toml:3", send(3)),
        ]
    );
}

#[test]
fn steps_may_be_written_in_any_order() {
    let text = with_steps(&format!(
        "[[step]]\nat_ms = 900\ndo = \"crash\"\nserver = \"Welsh\"\n{KIWI}"
    ));
    let scenario = parse(&text, "ok.toml", "ok").expect("valid");
    let order: Vec<&str> = scenario.steps.iter().map(|s| s.action.name()).collect();
    assert_eq!(order, ["client", "crash"]);
}

#[test]
fn an_inline_herd_is_checked_by_the_herd_config_rules() {
    let text =
        "description = \"x\"\n[herd]\nlinks = [[\"A\", \"B\"]]\n[[herd.server]]\nname = \"A\"\nport = 1\n";
    let got = error(text);
    assert!(got.starts_with("bad.toml:2:1: herd: "), "{got}");
    assert!(got.contains("\"B\""), "{got}");
}

#[test]
fn the_default_herd_and_defaults_apply() {
    let scenario = parse("description = \"x\"\n", "ok.toml", "ok").expect("valid");
    assert_eq!(scenario.herd.servers.len(), 5);
    assert!(scenario.herd.servers.iter().all(|s| s.host == s.name));
    assert_eq!(scenario.herd.tuning.heartbeat_ms, 250);
    assert_eq!(scenario.network.latency_ms, [1, 5]);
}
