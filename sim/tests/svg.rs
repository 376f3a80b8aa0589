//! The space-time diagram: one time line per host, one arrow per message
//! received, hover text, fault spans, convergence, the time window.

use herd_sim::flow::{self, Kind};
use herd_sim::run::{run, Options, Report};
use herd_sim::scenario::{self, Scenario};
use herd_sim::svg::{self, SvgOptions};

const PAIR: &str = r#"
[herd]
links = [["Hill", "Jaquez"]]

[[herd.server]]
name = "Hill"
port = 11000

[[herd.server]]
name = "Jaquez"
port = 11001
"#;

fn scenario(name: &str, steps: &str) -> Scenario {
    let text = format!("description = \"{name}\"\nseed = 5\n{steps}\n{PAIR}");
    scenario::parse(&text, &format!("{name}.toml"), name).expect("scenario parses")
}

fn partitioned() -> Scenario {
    scenario(
        "partitioned",
        r#"
[[step]]
at_ms = 300
do = "client"
client = "kiwi"
server = "Hill"
send = "IAMAT kiwi +34.068930-118.445127 {now}"

[[step]]
at_ms = 301
do = "converged"
within_ms = 500

[[step]]
at_ms = 1000
do = "partition"
a = ["Hill"]
b = ["Jaquez"]

[[step]]
at_ms = 1200
do = "client"
client = "fig"
server = "Jaquez"
send = "IAMAT fig +10.000000+010.000000 {now}"

[[step]]
at_ms = 2500
do = "heal"
a = ["Hill"]
b = ["Jaquez"]

[[step]]
at_ms = 2501
do = "converged"
within_ms = 4000
"#,
    )
}

fn servers(s: &Scenario) -> Vec<String> {
    s.herd.servers.iter().map(|s| s.name.clone()).collect()
}

fn run_ok(s: &Scenario) -> Report {
    let report = run(s, s.seed, Options::default());
    assert!(report.failure.is_none(), "{:?}", report.failure);
    report
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn one_time_line_per_host_and_one_arrow_per_message() {
    let s = partitioned();
    let report = run_ok(&s);
    let svg = svg::render(&report.records, &servers(&s), &SvgOptions::default());
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(count(&svg, r#"<line class="timeline server""#), 2);
    assert_eq!(count(&svg, r#"<line class="timeline client""#), 2, "kiwi and fig");
    for host in ["Hill", "Jaquez", "kiwi", "fig"] {
        assert!(
            svg.contains(&format!(r#"data-host="{host}""#)),
            "no time line for {host}"
        );
    }

    // Every line a server received is an arrow, and so is every reply to a
    // client (whose receipt the client side cannot log); heartbeats are
    // left out by default.
    let received = report
        .records
        .iter()
        .filter(|r| r.kind == "recv" && !r.heartbeat && (r.who == "Hill" || r.who == "Jaquez"))
        .count();
    let replies = report
        .records
        .iter()
        .filter(|r| r.kind == "send" && (r.who == "Hill" || r.who == "Jaquez") && r.peer.contains(':'))
        .count();
    assert!(received > 0 && replies == 2);
    let arrows = svg
        .lines()
        .filter(|l| l.starts_with(r#"<g class="m "#) && l.contains("marker-end="))
        .count();
    let lost = count(&svg, r#"class="cross""#);
    assert_eq!(arrows, received + replies);
    assert_eq!(count(&svg, r#"<g class="m heartbeat"#), 0);

    // Whatever was sent during the partition was lost, and shown as such.
    assert!(lost > 0, "the partition drops messages");
    let flow = flow::build(&report.records, &servers(&s));
    let sends = report
        .records
        .iter()
        .filter(|r| r.kind == "send" && !r.heartbeat && (r.who == "Hill" || r.who == "Jaquez"))
        .count();
    // Client lines leave clients, which log nothing; the rest leave servers.
    let drawn = flow
        .messages
        .iter()
        .filter(|m| !matches!(m.kind, Kind::Heartbeat | Kind::Client) && m.sent.is_some())
        .count();
    assert_eq!(drawn, sends, "every send is in the flow, paired or lost");

    // Hover text: the message itself.
    assert!(svg.contains("<title>client line kiwi → Hill"));
    assert!(svg.contains("IAMAT kiwi +34.068930-118.445127"));
    assert!(svg.contains("<title>update (HERD AT) Hill → Jaquez"));
    assert!(svg.contains("catch-up dump"), "the heal's dump is drawn");

    // The partition as a shaded span, convergence marked twice.
    assert_eq!(count(&svg, r#"<g class="span" data-what="partition">"#), 1);
    assert!(svg.contains("partition Hill / Jaquez from 1.000 s to 2.500 s"));
    assert_eq!(count(&svg, "<title>") - count(&svg, "</title>"), 0);
    assert_eq!(svg.matches(r#"<g><title>"#).filter(|_| true).count(), 2);
    assert!(svg.contains("converged after"));
}

#[test]
fn heartbeats_and_window_are_options() {
    let s = partitioned();
    let report = run_ok(&s);
    let all = svg::render(
        &report.records,
        &servers(&s),
        &SvgOptions {
            heartbeats: true,
            ..SvgOptions::default()
        },
    );
    assert!(count(&all, r#"<g class="m heartbeat"#) > 10);

    // 1100..1400 ms: fig's update during the partition, nothing of kiwi's.
    let window = svg::render(
        &report.records,
        &servers(&s),
        &SvgOptions {
            window_ms: Some((1100, 1400)),
            ..SvgOptions::default()
        },
    );
    assert!(window.contains("IAMAT fig"));
    assert!(!window.contains("IAMAT kiwi"));
    assert!(window.len() < all.len());
    assert_eq!(svg::parse_window("1100..1400"), Ok((1100, 1400)));
    assert!(svg::parse_window("1400..1100").is_err());
    assert!(svg::parse_window("soon").is_err());
}

#[test]
fn diagram_file_names_per_run() {
    use std::path::Path;
    let f = Path::new("out/diagram.svg");
    assert_eq!(
        svg::file_for(f, "silent_death", 7, true, true),
        Path::new("out/diagram.svg")
    );
    assert_eq!(
        svg::file_for(f, "silent_death", 7, false, true),
        Path::new("out/diagram.silent_death.svg")
    );
    assert_eq!(
        svg::file_for(f, "silent_death", 7, false, false),
        Path::new("out/diagram.silent_death.7.svg")
    );
}

#[test]
fn small_diagram_snapshot() {
    let s = scenario(
        "one_update",
        r#"
end_ms = 600

[[step]]
at_ms = 300
do = "client"
client = "kiwi"
server = "Jaquez"
send = "IAMAT kiwi +34.068930-118.445127 {now}"

[[step]]
at_ms = 301
do = "converged"
within_ms = 500
"#,
    );
    let report = run_ok(&s);
    let options = SvgOptions {
        title: vec!["one_update".to_string()],
        ..SvgOptions::default()
    };
    let first = svg::render(&report.records, &servers(&s), &options);
    let again = svg::render(&run_ok(&s).records, &servers(&s), &options);
    assert_eq!(first, again, "same seed, same diagram");
    // All snapshots live in the workspace's snapshots/ folder.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots"));
    settings.bind(|| insta::assert_snapshot!("svg_small_diagram", first));
}
