//! Property: whatever the schedule of client updates and partitions, the
//! default herd converges once the network is healed, and no invariant
//! breaks on the way.
//!
//! A case is a seed and a list of events a random gap apart: IAMATs from a
//! few clients at random servers with random client times (often older
//! than what the herd already holds, often tied), two-way and one-way
//! partitions of single herd links or of one server from all the others,
//! and heals of partitions in force. The case is written out as a scenario
//! file (`Schedule::to_toml`), loaded with the normal loader and run with
//! `herd_sim::run`; after the last event every partition is healed
//! and a `converged` step asks every server to hold the newest update of
//! every client that got an AT reply. The simulator checks its invariants
//! (no server goes back in time, no server holds an update nobody sent)
//! after every step and every 50 simulated ms.
//!
//! A failure shrinks to a short schedule, and its message carries the
//! scenario file: save it and run it with `herd-sim run` to get the trace.
//! Failing seeds land in `prop_converges.proptest-regressions` next to
//! this file and are replayed first on every run; that file is part of the
//! repository. Its `cc` line is a case on which the herd fails to converge
//! when servers send no catch-up on (re)subscription, kept because it
//! needs the catch-up to pass.
//!
//! 64 cases by default; `PROPTEST_CASES=500 cargo test -p herd-sim --test
//! prop_converges --release` explores more.
//!
//! `property_bites_without_reconciliation` shows the property can fail: on
//! servers built with the `no-reconciliation` bug, a fixed stream of cases
//! must produce a failing one.

use std::fmt::Write as _;

use herd::bugs::Bug;
use herd::config::HerdConfig;
use herd_sim::scenario;
use herd_sim::world::herd_config::sim_herd;
use herd_sim::{run, Failure, FailureKind, Options, ViolationKind};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner};

/// Distinct clients per case: few, so that updates for one client race.
const CLIENTS: usize = 3;
/// Client times are `EPOCH_S + k / 4` for k below this: ties are common,
/// and many updates are older than one the herd already holds.
const TIME_STEPS: u32 = 40;
/// The simulated clock's start (2026-01-01T00:00:00Z).
const EPOCH_S: u64 = 1_767_225_600;
/// How long the herd has to converge after the final heal.
const CONVERGE_WITHIN_MS: u64 = 10_000;
const DEFAULT_CASES: u32 = 64;

/// Which way a partition cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    Both,
    /// Only messages from the first named side to the second are dropped.
    Forward,
    /// Only messages from the second side to the first are dropped.
    Backward,
}

#[derive(Debug, Clone)]
enum Event {
    /// Client `client` tells `server` it is at place `place` at client time
    /// `EPOCH_S + time / 4`, written with `digits` fraction digits.
    Iamat {
        client: usize,
        server: Index,
        place: usize,
        time: u32,
        digits: usize,
    },
    /// One link of the herd is partitioned.
    Link { link: Index, cut: Cut },
    /// One server is partitioned from every other.
    Isolate { server: Index, cut: Cut },
    /// One of the partitions in force (if any) is healed.
    Heal { which: Index },
}

#[derive(Debug, Clone)]
struct Schedule {
    seed: u64,
    /// Each event with the simulated ms since the previous one.
    events: Vec<(u64, Event)>,
}

fn cut() -> impl Strategy<Value = Cut> {
    prop_oneof![Just(Cut::Both), Just(Cut::Forward), Just(Cut::Backward)]
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        5 => (0..CLIENTS, any::<Index>(), 0..8usize, 0..TIME_STEPS, 2..=9usize).prop_map(
            |(client, server, place, time, digits)| Event::Iamat {
                client,
                server,
                place,
                time,
                digits,
            }
        ),
        2 => (any::<Index>(), cut()).prop_map(|(link, cut)| Event::Link { link, cut }),
        1 => (any::<Index>(), cut()).prop_map(|(server, cut)| Event::Isolate { server, cut }),
        2 => any::<Index>().prop_map(|which| Event::Heal { which }),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (0..1_000u64, prop::collection::vec((0..1_500u64, event()), 1..16))
        .prop_map(|(seed, events)| Schedule { seed, events })
}

/// A partition in force: who is cut from whom, and which way.
struct Partition {
    a: Vec<String>,
    b: Vec<String>,
    oneway: bool,
}

fn list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// A valid location for place number `i`.
fn location(i: usize) -> String {
    let lat = -60.0 + 17.25 * i as f64;
    let lon = 150.0 - 41.5 * i as f64;
    format!("{lat:+.6}{lon:+.6}")
}

fn client_time(time: u32, digits: usize) -> String {
    let secs = EPOCH_S + u64::from(time / 4);
    let frac = format!("{:02}", (time % 4) * 25);
    format!("{secs}.{frac:0<digits$}")
}

impl Schedule {
    /// The case as a scenario file for the default herd.
    fn to_toml(&self, herd: &HerdConfig) -> String {
        let servers: Vec<String> = herd.servers.iter().map(|s| s.name.clone()).collect();
        let links: Vec<(String, String)> = herd.links.iter().cloned().collect();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "description = \"A generated schedule of updates, partitions and heals.\""
        );
        let _ = writeln!(out, "seed = {}", self.seed);
        let mut at_ms = 100;
        let mut in_force: Vec<Partition> = Vec::new();
        let step = |out: &mut String, at_ms: u64, body: String| {
            let _ = write!(out, "\n[[step]]\nat_ms = {at_ms}\n{body}");
        };
        for (gap_ms, event) in &self.events {
            at_ms += gap_ms;
            match event {
                Event::Iamat {
                    client,
                    server,
                    place,
                    time,
                    digits,
                } => {
                    let server = server.get(&servers);
                    let id = format!("c{client}.prop.test");
                    let loc = location(*place);
                    let time = client_time(*time, *digits);
                    let expect = regex_escape(&format!("{id} {loc} {time}"));
                    step(
                        &mut out,
                        at_ms,
                        format!(
                            "do = \"client\"\nclient = \"c{client}\"\nserver = {server:?}\n\
                             send = \"IAMAT {id} {loc} {time}\"\n\
                             expect_match = '^AT {server} [+-][0-9]+\\.[0-9]{{9}} {expect}$'\n"
                        ),
                    );
                }
                Event::Link { link, cut } => {
                    let (x, y) = link.get(&links);
                    in_force.push(partition(vec![x.clone()], vec![y.clone()], *cut));
                }
                Event::Isolate { server, cut } => {
                    let s = server.get(&servers);
                    let rest: Vec<String> = servers.iter().filter(|n| *n != s).cloned().collect();
                    in_force.push(partition(vec![s.clone()], rest, *cut));
                }
                Event::Heal { which } => {
                    if in_force.is_empty() {
                        continue;
                    }
                    let p = in_force.remove(which.index(in_force.len()));
                    step(&mut out, at_ms, action("heal", &p));
                    continue;
                }
            }
            if let Event::Link { .. } | Event::Isolate { .. } = event {
                let p = in_force.last().expect("just pushed");
                step(&mut out, at_ms, action("partition", p));
            }
        }
        // The final heal repairs every pair of servers, both ways.
        at_ms += 500;
        for (i, s) in servers.iter().enumerate().take(servers.len() - 1) {
            let all = Partition {
                a: vec![s.clone()],
                b: servers[i + 1..].to_vec(),
                oneway: false,
            };
            step(&mut out, at_ms, action("heal", &all));
        }
        step(
            &mut out,
            at_ms + 1,
            format!("do = \"converged\"\nwithin_ms = {CONVERGE_WITHIN_MS}\n"),
        );
        out
    }
}

fn partition(a: Vec<String>, b: Vec<String>, cut: Cut) -> Partition {
    match cut {
        Cut::Both => Partition { a, b, oneway: false },
        Cut::Forward => Partition { a, b, oneway: true },
        Cut::Backward => Partition {
            a: b,
            b: a,
            oneway: true,
        },
    }
}

fn action(what: &str, p: &Partition) -> String {
    format!(
        "do = \"{what}\"\na = {}\nb = {}\noneway = {}\n",
        list(&p.a),
        list(&p.b),
        p.oneway
    )
}

/// Escapes the regex metacharacters a location or time can contain.
fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.").replace('+', "\\+")
}

/// Runs the case on servers with `bug` (none: the real server); the
/// case as a scenario file, and how it failed.
fn outcome(schedule: &Schedule, bug: Option<Bug>) -> Result<(String, Option<Failure>), TestCaseError> {
    let herd = sim_herd(None, None).map_err(TestCaseError::fail)?;
    let text = schedule.to_toml(&herd);
    let scenario = scenario::parse(&text, "generated.toml", "generated")
        .map_err(|e| TestCaseError::fail(format!("generated scenario does not load: {e}\n{text}")))?;
    let options = Options {
        bug,
        ..Options::default()
    };
    let failure = run(&scenario, scenario.seed, options).failure;
    Ok((text, failure))
}

fn check(schedule: &Schedule) -> Result<(), TestCaseError> {
    match outcome(schedule, None)? {
        (_, None) => Ok(()),
        (text, Some(f)) => Err(TestCaseError::fail(format!(
            "{} at {}: {}\nsave this scenario as case.toml and run \
             `cargo run -p herd-sim -- run case.toml` for the trace:\n{text}",
            match f.kind() {
                FailureKind::Safety => "wrong answer or broken invariant",
                FailureKind::Liveness => "no convergence",
            },
            f.place,
            f.message()
        ))),
    }
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        // Each shrink step is a whole simulation.
        max_shrink_iters: 1_024,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn converges_after_final_heal(schedule in schedule()) {
        check(&schedule)?;
    }
}

/// The property bites: without catch-up on (re)subscription, a herd that
/// lost updates to a partition never gets them back, and one of a fixed
/// stream of generated cases must show it.
#[test]
fn property_bites_without_reconciliation() {
    let config = ProptestConfig {
        cases: 48,
        // Finding one failing case is the point; shrinking it would only
        // cost time (the property's own failures do shrink).
        max_shrink_iters: 0,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    // Without shrinking, the last failure seen is the one reported.
    let last = std::cell::RefCell::new(None);
    let result = runner.run(&schedule(), |s| match outcome(&s, Some(Bug::NoReconciliation))? {
        (_, None) => Ok(()),
        (_, Some(f)) => {
            let message = f.message();
            *last.borrow_mut() = Some(f);
            Err(TestCaseError::fail(message))
        }
    });
    match result {
        Err(TestError::Fail(why, case)) => {
            let kind = last.borrow().as_ref().map(|f| f.violation.kind());
            assert_eq!(
                kind,
                Some(ViolationKind::NotConverged),
                "failed, but not on convergence: {why}"
            );
            eprintln!("no-reconciliation fails on {case:?}");
        }
        Err(other) => panic!("the runner gave up: {other}"),
        Ok(()) => panic!("no generated case caught the no-reconciliation bug"),
    }
}
