//! docs/scenarios.md shows only scenarios that load, and each example it
//! marks as a file of scenarios/ is that file byte for byte, so the
//! scenario suite runs what the docs show.

use std::path::{Path, PathBuf};

use herd_sim::scenario::parse;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn docs() -> String {
    std::fs::read_to_string(root().join("docs/scenarios.md")).expect("docs/scenarios.md exists")
}

/// Each ```toml block, with the scenario file its marker names, if any.
fn blocks(text: &str) -> Vec<(Option<String>, String)> {
    let marker = "<!-- example: ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```toml\n") {
        let before = rest[..start].trim_end();
        let file = before
            .rsplit('\n')
            .next()
            .and_then(|line| line.strip_prefix(marker))
            .and_then(|line| line.strip_suffix(" -->"))
            .map(str::to_string);
        let body = &rest[start + "```toml\n".len()..];
        let end = body.find("```").expect("every block is closed");
        out.push((file, body[..end].to_string()));
        rest = &body[end..];
    }
    out
}

#[test]
fn every_example_in_the_docs_loads() {
    let mut checked = 0;
    for (_, block) in blocks(&docs()) {
        let scenario = if block.contains("description =") {
            block.clone()
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

#[test]
fn examples_marked_as_scenario_files_are_those_files() {
    let marked: Vec<(String, String)> = blocks(&docs())
        .into_iter()
        .filter_map(|(file, block)| file.map(|f| (f, block)))
        .collect();
    assert!(
        marked.len() >= 2,
        "the repeated step and named send examples are marked"
    );
    for (file, block) in marked {
        assert!(
            file.starts_with("scenarios/"),
            "{file}: the scenario suite runs scenarios/ only"
        );
        let text = std::fs::read_to_string(root().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(block, text, "docs/scenarios.md's example differs from {file}");
    }
}
