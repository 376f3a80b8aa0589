//! What external mode's link proxies add to a herd's round trips. Our
//! herd (`herd serve`, the release build) runs as five processes, graded
//! by herd-sim in external mode in turns (A B B A): with its links through
//! the proxies (its config is `{config}`), and with its links straight to
//! its neighbours (its config is the herd file itself, as a herd with a
//! hard-coded port table would have; herd-sim's proxies then carry
//! nothing). The same clients measure both: `IAMATS` IAMATs one at a time,
//! the origin rotating over the servers. With `ack = "herd"` an AT reply
//! waits until every server holds the update and has acknowledged it, so
//! each round trip crosses up to three links each way. The proxies add no
//! latency of their own (`[network] latency_ms = [0, 0]`).
//!
//! `cargo build --release -p herd && cargo bench -p herd-sim --bench external_overhead`

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use herd_sim::external::ExternalArgs;
use herd_sim::observe::{ClientEvent, Record, What};
use herd_sim::scenario;

const IAMATS: usize = 300;
const EVERY_MS: u64 = 15;
const SERVERS: [&str; 5] = ["Goloman", "Hands", "Holiday", "Welsh", "Wilkes"];

fn scenario_text() -> String {
    let mut text = String::from(
        "description = \"IAMATs one at a time, origin rotating.\"\n\
         [network]\nlatency_ms = [0, 0]\n",
    );
    for i in 0..IAMATS {
        let at_ms = 200 + i as u64 * EVERY_MS;
        let server = SERVERS[i % SERVERS.len()];
        text += &format!(
            "\n[[step]]\nat_ms = {at_ms}\ndo = \"client\"\nclient = \"c{i}\"\nserver = \"{server}\"\n\
             send = \"IAMAT c{i} +1.0+1.0 {{now}}\"\n"
        );
    }
    text
}

/// From each client's first line sent to the first reply bytes, sorted.
fn round_trips(records: &[Record]) -> Vec<Duration> {
    let mut sent = std::collections::BTreeMap::new();
    let mut trips = Vec::new();
    for r in records {
        match &r.what {
            What::Client(ClientEvent::Sent { .. }) => {
                sent.entry(r.host.to_string()).or_insert(r.at);
            }
            What::Client(ClientEvent::Received { .. }) => {
                if let Some(at) = sent.remove(&r.host.to_string()) {
                    trips.push(r.at - at);
                }
            }
            _ => {}
        }
    }
    trips.sort();
    trips
}

fn pick(sorted: &[Duration], q: f64) -> Duration {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// The default herd on free ports, with the scenario's timings (the
/// direct herd reads it as its config, so both run alike).
fn herd_file(dir: &Path, tuning: &herd::config::Tuning) -> PathBuf {
    let ports: Vec<u16> = (21_000..32_000)
        .filter(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .take(SERVERS.len())
        .collect();
    let mut text = String::from(
        "links = [[\"Goloman\", \"Hands\"], [\"Goloman\", \"Holiday\"], [\"Goloman\", \"Wilkes\"], \
         [\"Hands\", \"Wilkes\"], [\"Holiday\", \"Welsh\"], [\"Holiday\", \"Wilkes\"]]\n",
    );
    for (name, port) in SERVERS.iter().zip(ports) {
        text += &format!("\n[[server]]\nname = \"{name}\"\nport = {port}\n");
    }
    text += &format!("\n[tuning]\n{}", toml::to_string(tuning).expect("tuning as TOML"));
    let file = dir.join("herd.toml");
    std::fs::write(&file, text).expect("write the herd file");
    file
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf();
    let herd = root.join("target/release/herd");
    if !herd.exists() {
        eprintln!("{} is not built: cargo build --release -p herd", herd.display());
        std::process::exit(1);
    }
    let dir = root.join("target/tmp/external_overhead");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    std::env::set_current_dir(&dir).expect("work in the scratch folder");
    let scenario = scenario::parse(&scenario_text(), "overhead.toml", "overhead").expect("a valid scenario");
    let file = herd_file(&dir, &scenario.herd.tuning);
    let command = |config: &str| {
        format!(
            "{} serve {{name}} --config {config} --places fake",
            herd.display()
        )
    };
    let proxied = command("{config}");
    let direct = command(&file.display().to_string());
    let mut trips = [Vec::new(), Vec::new()];
    for (round, mode) in [0, 1, 1, 0].into_iter().enumerate() {
        let args = ExternalArgs {
            external: Some(if mode == 0 {
                proxied.clone()
            } else {
                direct.clone()
            }),
            herd: Some(file.clone()),
        };
        let session = args.session(None).expect("a session").expect("external mode");
        let report = session.run(
            &scenario,
            round as u64,
            &format!("round.{round}"),
            Default::default(),
        );
        if let Some(f) = &report.failure {
            panic!("round {round} failed at {}: {}", f.place, f.message());
        }
        trips[mode].extend(round_trips(&report.records));
    }
    let [through, straight] = trips.map(|mut t| {
        t.sort();
        t
    });
    println!("IAMAT round trips, ack = \"herd\", {} per mode:", through.len());
    println!("| links | p50 | p90 | p99 |");
    println!("|---|---|---|---|");
    for (name, t) in [
        ("straight to the neighbours", &straight),
        ("through the proxies", &through),
    ] {
        let [p50, p90, p99] = [0.5, 0.9, 0.99].map(|q| pick(t, q));
        println!("| {name} | {p50:?} | {p90:?} | {p99:?} |");
    }
    let ratio = |q: f64| pick(&through, q).as_secs_f64() / pick(&straight, q).as_secs_f64();
    println!(
        "| proxies / straight | {:.2} x | {:.2} x | {:.2} x |",
        ratio(0.5),
        ratio(0.9),
        ratio(0.99)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
