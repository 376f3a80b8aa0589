//! The space-time diagram: one time line per host, one arrow per message
//! received, hover text, fault spans, convergence, the time window.

use std::collections::BTreeMap;

use herd::protocol::PeerMessage;
use herd_sim::observe::diagram::{self as svg, SvgOptions};
use herd_sim::observe::flow::{self, Kind};
use herd_sim::observe::{Record, ServerEvent, What};
use herd_sim::scenario::{self, Scenario};
use herd_sim::{run, Options, Report};

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

/// What the servers of a run received and sent, heartbeats left out.
struct Counts {
    /// Lines from neighbours and clients.
    received: usize,
    /// Replies to clients.
    replies: usize,
    /// Lines sent to neighbours, and replies.
    sent: usize,
}

fn tally(records: &[Record]) -> Counts {
    let mut counts = Counts {
        received: 0,
        replies: 0,
        sent: 0,
    };
    // Client connections, by server and connection number.
    let mut from_client: BTreeMap<(String, u64), bool> = BTreeMap::new();
    for r in records {
        let What::Server { event, .. } = &r.what else {
            continue;
        };
        match event {
            ServerEvent::Opened { conn, peer, .. } => {
                let client = peer.host.as_deref().is_some_and(|h| h != "Hill" && h != "Jaquez");
                from_client.insert((r.host.to_string(), *conn), client);
            }
            ServerEvent::ClientLine { conn, .. } if from_client[&(r.host.to_string(), *conn)] => {
                counts.received += 1
            }
            ServerEvent::PeerRecv { message, .. } if *message != PeerMessage::Ping => counts.received += 1,
            ServerEvent::PeerSend { message, .. } if *message != PeerMessage::Ping => counts.sent += 1,
            // A neighbour asking for the link port is not a client.
            ServerEvent::Reply { conn, .. } if from_client[&(r.host.to_string(), *conn)] => {
                counts.replies += 1;
                counts.sent += 1;
            }
            _ => {}
        }
    }
    counts
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

    // Every line a server received is an arrow, and so is every reply a
    // client read; heartbeats are left out by default.
    let counts = tally(&report.records);
    assert!(counts.received > 0 && counts.replies == 2);
    let arrows = svg
        .lines()
        .filter(|l| l.starts_with(r#"<g class="m "#) && l.contains("marker-end="))
        .count();
    let lost = count(&svg, r#"class="cross""#);
    assert_eq!(arrows, counts.received + counts.replies);
    assert_eq!(count(&svg, r#"<g class="m heartbeat"#), 0);

    // Whatever was sent during the partition was lost, and shown as such.
    assert!(lost > 0, "the partition drops messages");
    let flow = flow::build(&report.records, &servers(&s));
    // Every line a server sent is in the flow, paired or lost.
    let drawn = flow
        .messages
        .iter()
        .filter(|m| !matches!(m.kind, Kind::Heartbeat | Kind::Client) && m.sent.is_some())
        .count();
    assert_eq!(drawn, counts.sent, "every send is in the flow, paired or lost");
    // Both sides of a client connection are recorded: no time is guessed.
    for m in flow.messages.iter().filter(|m| m.kind == Kind::Client) {
        assert!(m.sent.is_some() && m.received.is_some(), "{m:?}");
    }

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

/// The order hosts are drawn in, left to right.
fn columns(svg: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r#"class="host (?:server|client)">([^<]+)<"#).expect("compiles");
    pattern.captures_iter(svg).map(|c| c[1].to_string()).collect()
}

#[test]
fn arrows_are_labelled_sides_shaded_and_clients_beside_their_servers() {
    let s = partitioned();
    let report = run_ok(&s);
    let svg = svg::render(&report.records, &servers(&s), &SvgOptions::default());
    // Which update an arrow carries reads without hovering: client and time.
    assert!(svg.contains(r#"<text class="label update""#), "no update label");
    assert!(
        svg.contains(">kiwi 0.300s</text>"),
        "kiwi's update, made at 0.300 s"
    );
    assert!(
        svg.contains(">fig 1.200s</text>"),
        "fig's update, sent into the partition and lost"
    );
    assert!(svg.contains(">IAMAT kiwi</text>"));
    assert!(svg.contains(">hello</text>"), "the handshake is named");
    // Each side of the partition has its own shade.
    let span = svg
        .split(r#"<g class="span" data-what="partition">"#)
        .nth(1)
        .and_then(|rest| rest.split("</g>").next())
        .expect("the partition's span");
    let fills: std::collections::BTreeSet<&str> = span
        .match_indices(r#"fill=""#)
        .map(|(i, _)| &span[i + 6..i + 13])
        .collect();
    assert_eq!(fills.len(), 2, "{span}");
    // kiwi talks to Hill, fig to Jaquez: each stands beside its server.
    assert_eq!(columns(&svg), ["Hill", "kiwi", "Jaquez", "fig"]);
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

/// What a diagram shows, without where: host time lines, legend entries,
/// each message's kind, ends and text, spans and markers, in order.
fn structure(svg: &str) -> String {
    let pattern = regex::Regex::new(concat!(
        r#"class="host (server|client)">([^<]+)<|"#,
        r#"<line class="m [a-z]+" [^>]*/><text [^>]*>([^<]+)<|"#,
        r#"<g class="(m [a-z -]+)"><title>([^<]*?) [0-9.]+ s → ([^&]+)&#10;([^<]*)<|"#,
        r#"<g class="span" data-what="([^"]+)">|"#,
        r#"<title>[0-9.]+ s (converged|FAIL)"#
    ))
    .expect("the pattern compiles");
    let mut out = String::new();
    for c in pattern.captures_iter(svg) {
        let get = |i: usize| c.get(i).map_or("", |m| m.as_str());
        let line = if c.get(1).is_some() {
            format!("host {} {}", get(1), get(2))
        } else if c.get(3).is_some() {
            format!("legend {}", get(3))
        } else if c.get(4).is_some() {
            format!("{} | {} | {} | {}", get(4), get(5), get(6), get(7))
        } else if c.get(8).is_some() {
            format!("span {}", get(8))
        } else {
            get(9).to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn small_diagram_structure() {
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
    let shown = structure(&first);
    for part in [
        "host server Hill",
        "host client kiwi",
        "m client |",
        "m update |",
        "converged",
    ] {
        assert!(shown.contains(part), "no {part:?} in:\n{shown}");
    }
    // All snapshots live in the workspace's snapshots/ folder.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots"));
    settings.bind(|| insta::assert_snapshot!("svg_small_diagram_structure", shown));
}
