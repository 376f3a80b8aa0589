//! How fast the simulator runs: simulated seconds per wall second and
//! scenario runs per minute, for the default herd under client load, next
//! to turmoil stepping idle hosts for the same simulated time (the floor
//! any turmoil simulation pays: five hosts, and as many as the herd has
//! servers), and how the cost grows with the length of the load and with
//! the number of servers (ring-plus-chords herds drawn from a seed).
//!
//! Load: 50 clients, each sending an IAMAT every 200 simulated ms (one
//! `many_clients` step every 200 ms), then a `converged` step. Runs under
//! a second are repeated and the fastest kept. The load lasts seconds, not
//! minutes: every step adds client hosts, turmoil 0.7.2 keeps stepping
//! every host it ever made, and the cost of a simulated second grows with
//! the run (30 s of this load on the default herd takes minutes).
//!
//! `cargo bench -p herd-sim --bench sim_speed`

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use herd_sim::run::{run, Options};
use herd_sim::scenario::{self, Scenario};

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
            panic!("the load scenario failed at {}: {}", f.place, f.message);
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
    // Every load step adds client hosts, and turmoil 0.7.2 steps every
    // host it ever made and scans every link for each running host on
    // every tick: the cost of a simulated second grows with the run.
    for load_s in [2, 4, 8] {
        let (wall, sim_ms) = time_scenario(&load_scenario(None, load_s, &[]));
        row(&format!("default herd (5), {load_s} s of load"), wall, sim_ms, 5);
    }
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
}
