//! Herd configuration: the built-in herd, the shipped example, and errors
//! that name file, line, column and the problem.

use herd::config::{ConfigError, HerdConfig};

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

#[test]
fn printed_herd_reads_back_the_same() {
    let herd = HerdConfig::default_herd();
    let again = HerdConfig::from_toml(&herd.to_toml(), "printed").unwrap();
    assert_eq!(again.servers, herd.servers);
    assert_eq!(again.links, herd.links);
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
