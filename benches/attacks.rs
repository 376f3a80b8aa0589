//! The attacks of the attack report, each run against the default herd as
//! five `herd serve` processes on loopback with logs on, once per binary
//! given and once for this build (labelled `new`), in the same run; this
//! build also runs with `HERD_SECRET` where the secret is the defence
//! (attacks 1 and 2), and with `ack = "local"` for the fast client. For each
//! attack it prints, side by side: the attacked server's memory, a probe
//! client's latency there, link drops, log bytes, and catch-up entries
//! per client update, plus the attack's own figures.
//!
//! ```text
//! cargo bench --bench attacks -- [LABEL=BINARY ...] [--only 1,2,3,4,5,8] [--SIZE N ...]
//! ```
//!
//! `--only 5` runs 5b too, `--only 8` runs 8b. Sizes (defaults in
//! `settings`): `--stored --feeds --resyncs --hold-secs` (1), `--idle
//! --fake-hellos --queued --hello-flood` (3), `--fast --fast-conns` (4),
//! `--hoarders` (5), `--unread` (5b: connections, and client slots), `--bulk
//! --long-ids --long-id-bytes` (8), `--cap-secs` (the longest wait for
//! convergence or a link). A binary speaks whichever protocol it answers
//! to (`HERD LINKPORT?` or not). Every server is killed with its process
//! group when a run ends, fails, or is interrupted, and its logs are
//! deleted.

#[path = "../tests/common/clients.rs"]
mod clients;
#[path = "attacks/harness.rs"]
mod harness;
#[path = "../tests/common/log_lines.rs"]
mod log_lines;
#[path = "attacks/moves.rs"]
mod moves;
#[path = "../tests/common/neighbour.rs"]
mod neighbour;
#[path = "../tests/common/procs/mod.rs"]
mod procs;
#[path = "attacks/report.rs"]
mod report;

use std::path::PathBuf;
use std::time::Duration;

use harness::{Figures, Herd, Variant};
use moves::Sizes;

struct Settings {
    binaries: Vec<(String, PathBuf)>,
    only: Vec<String>,
    sizes: Sizes,
}

fn settings() -> Settings {
    let mut sizes = Sizes {
        stored: 20_000,
        feeds: 100,
        resyncs: 50,
        hold: Duration::from_secs(5),
        idle: 1_021,
        fake_hellos: 4,
        queued: 60,
        hello_flood: 0,
        fast: 20_000,
        fast_conns: 1,
        hoarders: 1_024,
        unread: 64,
        bulk: 100_000,
        long_ids: 10_000,
        long_id_bytes: 4_000,
        cap: Duration::from_secs(30),
    };
    let mut binaries = Vec::new();
    let mut only: Vec<String> = ["1", "2", "3", "4", "5", "8"].map(String::from).to_vec();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} wants a value"));
        let mut number = || -> usize {
            let v = value();
            v.parse()
                .unwrap_or_else(|_| panic!("{arg} wants a number, got {v:?}"))
        };
        match arg.as_str() {
            "--stored" => sizes.stored = number(),
            "--feeds" => sizes.feeds = number(),
            "--resyncs" => sizes.resyncs = number(),
            "--hold-secs" => sizes.hold = Duration::from_secs(number() as u64),
            "--idle" => sizes.idle = number(),
            "--fake-hellos" => sizes.fake_hellos = number(),
            "--queued" => sizes.queued = number(),
            "--hello-flood" => sizes.hello_flood = number(),
            "--fast" => sizes.fast = number(),
            "--fast-conns" => sizes.fast_conns = number(),
            "--hoarders" => sizes.hoarders = number(),
            "--unread" => sizes.unread = number(),
            "--bulk" => sizes.bulk = number(),
            "--long-ids" => sizes.long_ids = number(),
            "--long-id-bytes" => sizes.long_id_bytes = number(),
            "--cap-secs" => sizes.cap = Duration::from_secs(number() as u64),
            "--only" => only = value().split(',').map(String::from).collect(),
            // cargo bench passes this to every bench binary.
            "--bench" => {}
            binary => {
                let (label, path) = binary
                    .split_once('=')
                    .unwrap_or_else(|| panic!("want LABEL=BINARY or a --SIZE N, got {binary:?}"));
                binaries.push((label.to_string(), PathBuf::from(path)));
            }
        }
    }
    binaries.push(("new".into(), env!("CARGO_BIN_EXE_herd").into()));
    Settings {
        binaries,
        only,
        sizes,
    }
}

/// The runs of one attack: every binary as it comes, and this build also
/// in the way that matters for that attack. Unread replies (5b) run with
/// as many client slots as there are unread connections: filling a
/// thousand slots that way takes gigabytes of socket buffers.
fn variants(attack: &str, binaries: &[(String, PathBuf)], s: &Sizes) -> Vec<Variant> {
    let tuning = match attack {
        "5b" => format!("max_connections = {}", s.unread),
        _ => String::new(),
    };
    let mut variants: Vec<Variant> = binaries
        .iter()
        .map(|(label, binary)| Variant {
            label: label.clone(),
            binary: binary.clone(),
            secret: false,
            tuning: tuning.clone(),
        })
        .collect();
    let (label, binary) = binaries.last().expect("this build").clone();
    let (suffix, secret, tuning) = match attack {
        "1" | "2" => ("+secret", true, String::new()),
        "4" => (", ack local", false, "ack = \"local\"".to_string()),
        _ => return variants,
    };
    variants.push(Variant {
        label: label + suffix,
        binary,
        secret,
        tuning,
    });
    variants
}

fn title(attack: &str, s: &Sizes) -> String {
    match attack {
        "1" => format!(
            "1. HELLO and RESYNC storm at Goloman ({} clients held): {} strangers subscribe as Hands, \
             never read, {} RESYNC each, held {} s",
            s.stored,
            s.feeds,
            s.resyncs,
            s.hold.as_secs()
        ),
        "2" => "2. Squatter: Welsh killed, its port taken by a process that speaks for it and plants a \
                client; Holiday watched; then the real Welsh restarts"
            .to_string(),
        "3" => format!(
            "3. Lockout at Holiday: Welsh restarts behind {} idle clients, {} fake Welsh feeds pinging, \
             {} queued HELLOs, {} HELLO loops",
            s.idle, s.fake_hellos, s.queued, s.hello_flood
        ),
        "4" => format!(
            "4. Fast client at Goloman: {} new client IDs pipelined on {} connection(s)",
            s.fast, s.fast_conns
        ),
        "5" => format!(
            "5. Hoarders at Goloman: {} connections sending one empty line every few minutes \
             (reconnecting when closed), {} s",
            s.hoarders,
            s.hold.as_secs()
        ),
        "5b" => format!(
            "5b. Unread replies at Goloman (max_connections = {0}): {0} connections ask for hundreds \
             of WHATSAT replies each and read none (reconnecting when closed), {1} s",
            s.unread,
            s.hold.as_secs()
        ),
        "8" => format!("8. Store cost at Goloman: {} new clients with short IDs", s.bulk),
        "8b" => format!(
            "8b. Store cost at Goloman: {} new clients with {}-byte IDs",
            s.long_ids, s.long_id_bytes
        ),
        other => panic!("no attack {other:?} (1, 2, 3, 4, 5, 8)"),
    }
}

async fn run(attack: &str, herd: &mut Herd, s: &Sizes) -> Figures {
    match attack {
        "1" => moves::hello_storm(herd, s).await,
        "2" => moves::squatter(herd, s).await,
        "3" => moves::lockout(herd, s).await,
        "4" => moves::fast_client(herd, s).await,
        "5" => moves::hoarders(herd, s, moves::Hoard::Idle).await,
        "5b" => moves::hoarders(herd, s, moves::Hoard::Unread).await,
        "8" => moves::store_cost(herd, s, s.bulk, 0).await,
        "8b" => moves::store_cost(herd, s, s.long_ids, s.long_id_bytes).await,
        other => panic!("no attack {other:?}"),
    }
}

fn main() {
    let settings = settings();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let attacks = settings.only.iter().flat_map(|a| match a.as_str() {
        "5" => vec!["5", "5b"],
        "8" => vec!["8", "8b"],
        other => vec![other],
    });
    println!("Attacks on the default herd: 5 `herd serve` processes on loopback, logs on.");
    println!("Ratios are to the first column; RSS is the attacked server's.");
    for attack in attacks {
        let title = title(attack, &settings.sizes);
        let mut columns = Vec::new();
        for variant in variants(attack, &settings.binaries, &settings.sizes) {
            eprintln!("attack {attack}, {}", variant.label);
            let figures = rt.block_on(async {
                // Dropping the herd kills every server and deletes its logs.
                let mut herd = Herd::start(&variant).await;
                tokio::select! {
                    figures = run(attack, &mut herd, &settings.sizes) => Some(figures),
                    _ = tokio::signal::ctrl_c() => None,
                }
            });
            let Some(figures) = figures else {
                eprintln!("interrupted; every server was stopped");
                std::process::exit(130);
            };
            columns.push((variant.label, figures));
        }
        report::table(&title, &columns);
    }
}
