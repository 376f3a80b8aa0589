//! Herd configuration: the built-in herd, the shipped example, and errors
//! that name file, line, column and the problem.

use herd::config::{AckMode, ConfigError, Flooding, HerdConfig, LogSettings, Tuning};

fn error(text: &str) -> String {
    match HerdConfig::from_toml(text, "herd.toml") {
        Err(e @ ConfigError::Invalid { .. }) => e.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn default_herd_is_spec_section_one() {
    let herd = HerdConfig::default_herd();
    let names: Vec<&str> = herd.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"]);
    let ports: Vec<u16> = herd.servers.iter().map(|s| s.port).collect();
    assert_eq!(ports, [12000, 12001, 12002, 12003, 12004]);
    let neighbours = |n: &str| {
        herd.neighbours(n)
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(neighbours("Goloman"), ["Hands", "Holiday", "Wilkes"]);
    assert_eq!(neighbours("Hands"), ["Goloman", "Wilkes"]);
    assert_eq!(neighbours("Holiday"), ["Goloman", "Welsh", "Wilkes"]);
    assert_eq!(neighbours("Welsh"), ["Holiday"]);
    assert_eq!(neighbours("Wilkes"), ["Goloman", "Hands", "Holiday"]);
    assert_eq!(herd.links.len(), 6);
}

/// What `herd config` prints loads back to the same herd, every setting
/// included, for the default herd and for one that changes everything.
#[test]
fn printed_herd_reads_back_the_same() {
    let mut changed = HerdConfig::default_herd();
    changed.servers[1].link_port = Some(13001);
    changed.servers[2].host = "10.0.0.3".into();
    changed.tuning = Tuning {
        heartbeat_ms: 250,
        dead_after_ms: 900,
        flooding: Flooding::Pruned,
        ack: AckMode::Local,
        max_future_ms: 0,
        max_client_id_bytes: 17,
        ..Tuning::default()
    };
    changed.log = LogSettings {
        level: "debug".into(),
        max_file_bytes: 1 << 30,
        max_files: 9,
    };
    for herd in [HerdConfig::default_herd(), changed] {
        let printed = herd.to_toml().unwrap();
        assert_eq!(
            HerdConfig::from_toml(&printed, "printed").unwrap(),
            herd,
            "{printed}"
        );
        for table in ["[[server]]", "[tuning]", "[log]"] {
            assert!(printed.contains(table), "{table} missing from {printed}");
        }
    }
}

#[test]
fn the_hill_example_runs_from_a_file() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hill-herd.toml");
    let herd = HerdConfig::from_file(&path).unwrap();
    assert_eq!(herd.servers.len(), 5);
    assert!(herd.is_link("Campbell", "Smith") && herd.is_link("Jaquez", "Singleton"));
    assert!(!herd.is_link("Hill", "Campbell"));
    assert_eq!(herd.server("Hill").unwrap().host, "127.0.0.1");
}

#[test]
fn errors_name_file_line_column_and_problem() {
    let unknown = "links = [[\"A\", \"Nobody\"]]\n[[server]]\nname = \"A\"\nport = 1\n";
    assert_eq!(
        error(unknown),
        "herd.toml:1:16: link names unknown server \"Nobody\""
    );
    let twice = "[[server]]\nname = \"A\"\nport = 1\n[[server]]\nname = \"A\"\nport = 2\n";
    assert_eq!(error(twice), "herd.toml:5:8: server \"A\" is defined twice");
    let same_port = "[[server]]\nname = \"A\"\nport = 7\n[[server]]\nname = \"B\"\nport = 7\n";
    assert_eq!(error(same_port), "herd.toml:6:8: B and A both use 127.0.0.1:7");
    let bad_port = "[[server]]\nname = \"A\"\nport = 70000\n";
    assert!(
        error(bad_port).starts_with("herd.toml:3:8: "),
        "{}",
        error(bad_port)
    );
    let typo = "[[server]]\nname = \"A\"\nprot = 1\n";
    assert!(error(typo).contains("unknown field `prot`"), "{}", error(typo));
    let self_link = "links = [[\"A\", \"A\"]]\n[[server]]\nname = \"A\"\nport = 1\n";
    assert!(error(self_link).contains("link from A to itself"));
    assert!(error("").contains("missing field `server`"));
}

#[test]
fn a_missing_file_is_named() {
    let e = HerdConfig::from_file(std::path::Path::new("/nonexistent/herd.toml")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/herd.toml: "), "{e}");
}

/// A one-server herd whose `[tuning]` or `[log]` table holds `setting`, on line 6.
fn with_setting(table: &str, setting: &str) -> String {
    error(&format!(
        "[[server]]\nname = \"A\"\nport = 1\n\n[{table}]\n{setting}\n"
    ))
}

/// Every refused setting is reported at its value (line 6, just past
/// `name = `), naming the field and what it may be.
#[test]
fn out_of_range_settings_are_refused_at_their_value() {
    let cases = [
        // Zero would make every link task panic on its heartbeat timer.
        (
            "heartbeat_ms = 0",
            "tuning.heartbeat_ms must be 1 to 600000, not 0",
        ),
        // Zero never grows: a hot reconnect loop.
        (
            "backoff_min_ms = 0",
            "tuning.backoff_min_ms must be 1 to 600000, not 0",
        ),
        // Would overflow a deadline.
        (
            "idle_timeout_ms = 9223372036854775807",
            "tuning.idle_timeout_ms must be 1 to 86400000, not 9223372036854775807",
        ),
        (
            "line_timeout_ms = 0",
            "tuning.line_timeout_ms must be 1 to 86400000, not 0",
        ),
        (
            "dead_after_ms = 3600001",
            "tuning.dead_after_ms must be 2 to 3600000, not 3600001",
        ),
        (
            "backoff_max_ms = 3600001",
            "tuning.backoff_max_ms must be 1 to 3600000, not 3600001",
        ),
        (
            "max_line_bytes = 0",
            "tuning.max_line_bytes must be 1 to 1048576, not 0",
        ),
        (
            "max_line_bytes = 1048577",
            "tuning.max_line_bytes must be 1 to 1048576, not 1048577",
        ),
        (
            "max_connections = 0",
            "tuning.max_connections must be 1 to 1000000, not 0",
        ),
        ("link_queue = 0", "tuning.link_queue must be 1 to 1048576, not 0"),
        (
            "catch_up_chunk = 0",
            "tuning.catch_up_chunk must be 1 to 65536, not 0",
        ),
        (
            "max_clients = 0",
            "tuning.max_clients must be 1 to 100000000, not 0",
        ),
        (
            "max_client_id_bytes = 0",
            "tuning.max_client_id_bytes must be 1 to 65536, not 0",
        ),
        (
            "max_client_id_bytes = 65537",
            "tuning.max_client_id_bytes must be 1 to 65536, not 65537",
        ),
        (
            "ack_timeout_ms = 0",
            "tuning.ack_timeout_ms must be 1 to 600000, not 0",
        ),
        (
            "handshake_timeout_ms = 0",
            "tuning.handshake_timeout_ms must be 1 to 600000, not 0",
        ),
        (
            "places_timeout_ms = 0",
            "tuning.places_timeout_ms must be 1 to 600000, not 0",
        ),
        (
            "max_future_ms = 31536000001",
            "tuning.max_future_ms must be 0 to 31536000000, not 31536000001",
        ),
    ];
    for (setting, message) in cases {
        let column = setting.find('=').unwrap() + 3;
        assert_eq!(
            with_setting("tuning", setting),
            format!("herd.toml:6:{column}: {message}"),
            "{setting}"
        );
    }
}

#[test]
fn log_settings_are_refused_at_their_value() {
    let cases = [
        (
            "level = \"loud\"",
            "log.level must be one of error, warn, info, debug, trace, not \"loud\"",
        ),
        (
            "max_file_bytes = 0",
            "log.max_file_bytes must be 4096 to 1099511627776, not 0",
        ),
        ("max_files = 0", "log.max_files must be 1 to 1000, not 0"),
    ];
    for (setting, message) in cases {
        let column = setting.find('=').unwrap() + 3;
        assert_eq!(
            with_setting("log", setting),
            format!("herd.toml:6:{column}: {message}"),
            "{setting}"
        );
    }
}

/// An ordering between two settings is reported at the one the file
/// gives, even when the other is left at its default.
#[test]
fn settings_that_must_be_ordered_are_refused() {
    let text = "[[server]]\nname = \"A\"\nport = 1\n[tuning]\nheartbeat_ms = 500\ndead_after_ms = 500\n";
    assert_eq!(
        error(text),
        "herd.toml:6:17: tuning.dead_after_ms must be greater than tuning.heartbeat_ms (500), not 500"
    );
    assert_eq!(
        with_setting("tuning", "heartbeat_ms = 5000"),
        "herd.toml:6:16: tuning.dead_after_ms must be greater than tuning.heartbeat_ms (5000), not 3500"
    );
    assert_eq!(
        with_setting("tuning", "backoff_max_ms = 50"),
        "herd.toml:6:18: tuning.backoff_max_ms must be at least tuning.backoff_min_ms (100), not 50"
    );
}

#[test]
fn a_bad_type_in_a_table_names_its_field() {
    assert_eq!(
        with_setting("tuning", "heartbeat_ms = \"1s\""),
        "herd.toml:6:16: tuning.heartbeat_ms: invalid type: string \"1s\", expected u64"
    );
    assert_eq!(
        with_setting("log", "max_files = -1"),
        "herd.toml:6:13: log.max_files: invalid value: integer `-1`, expected usize"
    );
}

#[test]
fn link_ports_must_not_clash_on_a_host() {
    let herd = |b_link_port: u16, b_host: &str| {
        format!(
            "[[server]]\nname = \"A\"\nport = 7000\nlink_port = 7100\n\n\
             [[server]]\nname = \"B\"\nhost = \"{b_host}\"\nport = 7001\nlink_port = {b_link_port}\n"
        )
    };
    assert_eq!(
        error(&herd(7000, "127.0.0.1")),
        "herd.toml:10:13: B's link_port 7000 is the client port of A on 127.0.0.1"
    );
    assert_eq!(
        error(&herd(7001, "127.0.0.1")),
        "herd.toml:10:13: B's link_port 7001 is its own client port"
    );
    assert_eq!(
        error(&herd(7100, "127.0.0.1")),
        "herd.toml:10:13: B and A both use link_port 7100 on 127.0.0.1"
    );
    // Another host, or a port left for the server to pick, clashes with nothing.
    for text in [herd(7000, "127.0.0.2"), herd(0, "127.0.0.1")] {
        assert!(HerdConfig::from_toml(&text, "herd.toml").is_ok(), "{text}");
    }
}
