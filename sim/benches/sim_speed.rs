//! How fast the simulator runs: simulated seconds per wall second and
//! scenario runs per minute, for the default herd under client load, next
//! to turmoil stepping idle hosts for the same simulated time (the floor
//! any turmoil simulation pays: five hosts, and as many as the herd has
//! servers), and how the cost grows with the length of the load and with
//! the number of servers (ring-plus-chords herds drawn from a seed).
//!
//! Load: 50 clients, each sending an IAMAT every 200 simulated ms (one
//! `many_clients` step every 200 ms), then a `converged` step. Runs under
//! a second are repeated and the fastest kept. The growth ratio is the
//! cost of a simulated second under 12 s of load over that under 3 s: 1.0
//! means a long run costs no more per simulated second than a short one.
//!
//! Last, the explorer's rate: seeds per minute over `EXPLORE_SEEDS` seeds,
//! and, with `SIM_SPEED_BASELINE=/path/to/herd-sim`, the same seeds on that
//! binary in the same run, as a ratio.
//!
//! `cargo bench -p herd-sim --bench sim_speed`

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use herd_sim::scenario::{self, Scenario};
use herd_sim::{run, Options};

const CLIENTS: usize = 50;
const EVERY_MS: u64 = 200;
/// Runs shorter than this are repeated and the fastest kept.
const REPEAT_UNDER: Duration = Duration::from_secs(1);
const REPEATS: usize = 3;

/// `hosts` hosts that bind a listener and then sleep in a loop, stepped
/// for `sim_ms`: turmoil's own cost for that simulated time.
fn idle_turmoil(hosts: usize, sim_ms: u64) -> Duration {
    let wall = Instant::now();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_millis(sim_ms + 10_000))
        .build();
    for i in 0..hosts {
        sim.host(format!("idle{i}"), || async {
            let _listener = turmoil::net::TcpListener::bind(("0.0.0.0", 12_000)).await?;
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
    }
    sim.client("clock", async move {
        tokio::time::sleep(Duration::from_millis(sim_ms)).await;
        Ok(())
    });
    sim.run().expect("idle hosts never fail");
    wall.elapsed()
}

/// splitmix64: a seeded stream for the herd shapes, with no dependency.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A ring of `n` servers plus `n / 2` chords drawn from `seed`: connected,
/// with a diameter well below `n / 2`.
fn ring_with_chords(n: usize, seed: u64) -> String {
    let name = |i: usize| format!("S{i:02}");
    let mut links = std::collections::BTreeSet::new();
    for i in 0..n {
        let j = (i + 1) % n;
        links.insert((i.min(j), i.max(j)));
    }
    let mut stream = Stream(seed);
    while links.len() < n + n / 2 {
        let i = (stream.next() % n as u64) as usize;
        let j = (stream.next() % n as u64) as usize;
        if i != j {
            links.insert((i.min(j), i.max(j)));
        }
    }
    let listed: Vec<String> = links
        .iter()
        .map(|(i, j)| format!("[\"{}\", \"{}\"]", name(*i), name(*j)))
        .collect();
    let mut out = format!("[herd]\nlinks = [{}]\n", listed.join(", "));
    for i in 0..n {
        let _ = write!(
            out,
            "\n[[herd.server]]\nname = \"{}\"\nport = {}\n",
            name(i),
            12_000 + i
        );
    }
    out
}

/// The load for `load_s` simulated seconds, then a `converged` step, on
/// the default herd (`herd = None`) or an inline one; the clients go to
/// `entry` servers round-robin (every server when empty).
fn load_scenario(herd: Option<&str>, load_s: u64, entry: &[String]) -> Scenario {
    let mut text =
        format!("description = \"{CLIENTS} clients send an IAMAT every {EVERY_MS} ms.\"\nseed = 1\n");
    let servers = if entry.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = entry.iter().map(|s| format!("{s:?}")).collect();
        format!("servers = [{}]\n", quoted.join(", "))
    };
    let mut at_ms = 0;
    while at_ms < load_s * 1_000 {
        at_ms += EVERY_MS;
        let _ = write!(
            text,
            "\n[[step]]\nat_ms = {at_ms}\ndo = \"many_clients\"\ncount = {CLIENTS}\nprefix = \"load\"\n{servers}"
        );
    }
    let _ = write!(
        text,
        "\n[[step]]\nat_ms = {}\ndo = \"converged\"\nwithin_ms = 10000\n",
        at_ms + 1
    );
    if let Some(herd) = herd {
        text.push('\n');
        text.push_str(herd);
    }
    scenario::parse(&text, "load.toml", "load").expect("the load scenario loads")
}

/// Wall time of a run (the fastest of a few when it is short), and the
/// simulated ms it covers.
fn time_scenario(scenario: &Scenario) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut sim_ms = 0;
    for _ in 0..REPEATS {
        let wall = Instant::now();
        let report = run(scenario, scenario.seed, Options::default());
        best = best.min(wall.elapsed());
        if let Some(f) = report.failure {
            panic!("the load scenario failed at {}: {}", f.place, f.message());
        }
        sim_ms = report.sim_ms;
        if best >= REPEAT_UNDER {
            break;
        }
    }
    (best, sim_ms)
}

/// Fastest of a few idle runs (one when it is slow).
fn idle(hosts: usize, sim_ms: u64) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..REPEATS {
        best = best.min(idle_turmoil(hosts, sim_ms));
        if best >= REPEAT_UNDER {
            break;
        }
    }
    best
}

/// One row: the run's speed, and its cost next to idle hosts stepped for
/// the same simulated time: five, and as many as the herd has servers.
fn row(label: &str, wall: Duration, sim_ms: u64, servers: usize) {
    let wall_s = wall.as_secs_f64();
    let ratio = |hosts: usize| wall_s / idle(hosts, sim_ms).as_secs_f64();
    println!(
        "{label:<46} {:>6.1} {:>8.3} {:>8.1} {:>8.1} {:>8.1}x {:>8.1}x",
        sim_ms as f64 / 1_000.0,
        wall_s,
        sim_ms as f64 / 1_000.0 / wall_s,
        60.0 / wall_s,
        ratio(5),
        ratio(servers)
    );
}

/// Wall time per simulated second of a run.
fn cost_per_sim_s(wall: Duration, sim_ms: u64) -> f64 {
    wall.as_secs_f64() / (sim_ms as f64 / 1_000.0)
}

/// Seeds the explorer rate is measured on, and how many times (the best
/// rate counts).
const EXPLORE_SEEDS: u64 = 40;
const EXPLORE_ROUNDS: usize = 3;

/// Seeds per minute of the explorer in this process, on the default herd
/// acknowledging locally: the scenarios a seed expands into are then those
/// of binaries that predate read-after-ack steps, so the rates compare.
fn explore_rate() -> f64 {
    let out = std::env::temp_dir().join("sim_speed_explore");
    let local: toml::Table = "ack = \"local\"".parse().expect("a tuning table");
    let config = herd_sim::explore::Config {
        seeds: 0..EXPLORE_SEEDS,
        shard: (1, 1),
        herd: Some((
            herd_sim::world::herd_config::sim_herd(None, Some(local)).expect("the default herd"),
            None,
        )),
        out,
        bug: None,
        keep_going: true,
        shrink_runs: 0,
        verbose: false,
        progress: false,
    };
    let wall = Instant::now();
    let summary = herd_sim::explore::explore(&config, &mut std::io::sink()).expect("explore runs");
    let wall_s = wall.elapsed().as_secs_f64();
    if !summary.findings.is_empty() {
        println!("  ({} of the seeds failed)", summary.findings.len());
    }
    summary.seeds_run as f64 * 60.0 / wall_s
}

/// Seeds per minute of another herd-sim binary's explorer, same seeds.
fn explore_rate_of(binary: &str) -> Option<f64> {
    let out = std::env::temp_dir().join("sim_speed_explore_baseline");
    let wall = Instant::now();
    let status = std::process::Command::new(binary)
        .args([
            "explore",
            "--quiet",
            "--keep-going",
            "--shrink-runs",
            "0",
            "--seeds",
        ])
        .arg(format!("0..{EXPLORE_SEEDS}"))
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    let wall_s = wall.elapsed().as_secs_f64();
    // Exit codes 1 and 2 are failing seeds, which still ran.
    (status.code().is_some_and(|c| c <= 2)).then(|| EXPLORE_SEEDS as f64 * 60.0 / wall_s)
}

fn main() {
    println!("load: {CLIENTS} clients, an IAMAT each every {EVERY_MS} simulated ms");
    println!(
        "{:<46} {:>6} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "run", "sim s", "wall s", "sim s/s", "runs/min", "vs 5 idle", "vs N idle"
    );
    for (hosts, sim_s) in [(5, 30), (25, 30), (50, 30)] {
        let wall = idle(hosts, sim_s * 1_000);
        row(
            &format!("turmoil, {hosts} idle hosts"),
            wall,
            sim_s * 1_000,
            hosts,
        );
    }
    // The same load, short and long: a long run must not cost more per
    // simulated second than a short one.
    let mut costs = Vec::new();
    for load_s in [3, 12] {
        let (wall, sim_ms) = time_scenario(&load_scenario(None, load_s, &[]));
        row(&format!("default herd (5), {load_s} s of load"), wall, sim_ms, 5);
        costs.push(cost_per_sim_s(wall, sim_ms));
    }
    println!(
        "growth: a simulated second of 12 s of load costs {:.2}x one of 3 s",
        costs[1] / costs[0]
    );
    // Herd size, with the clients on the same five servers so that the
    // client hosts are the same and only the herd grows.
    let entry: Vec<String> = (0..5).map(|i| format!("S{i:02}")).collect();
    for n in [5, 25, 50] {
        let herd = ring_with_chords(n, 7);
        let (wall, sim_ms) = time_scenario(&load_scenario(Some(&herd), 2, &entry));
        row(
            &format!("ring + chords ({n}), 2 s of load at 5 servers"),
            wall,
            sim_ms,
            n,
        );
    }
    let herd = ring_with_chords(25, 7);
    let (wall, sim_ms) = time_scenario(&load_scenario(Some(&herd), 2, &[]));
    row("ring + chords (25), 2 s of load at all 25", wall, sim_ms, 25);

    // Turns with the baseline, best of each kept: the machine is shared.
    let baseline = std::env::var("SIM_SPEED_BASELINE").ok();
    let (mut rate, mut base) = (0f64, None::<f64>);
    for _ in 0..EXPLORE_ROUNDS {
        rate = rate.max(explore_rate());
        if let Some(b) = baseline.as_deref().and_then(explore_rate_of) {
            base = Some(base.map_or(b, |m| m.max(b)));
        }
    }
    println!("explorer: {rate:.0} seeds/min (seeds 0..{EXPLORE_SEEDS}, default herd, ack = \"local\")");
    match (&baseline, base) {
        (Some(binary), Some(base)) => println!(
            "explorer, {binary}: {base:.0} seeds/min; this build runs {:.2}x as many",
            rate / base
        ),
        (Some(binary), None) => println!("explorer, {binary}: did not run"),
        _ => {}
    }
}
