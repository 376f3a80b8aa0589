//! The default herd as five `herd serve NAME` processes, as users run it:
//! what an AT reply means (every server answers with the update at once,
//! and it survives the death of the server that sent the reply), that a
//! port-based kill reaches one process, and that a restarted server is
//! linked again without waiting out a backoff.
//!
//! Two variables run the same tests against something else, by hand:
//! `HERD_PROCS_BIN` names another `herd` binary (an older release), and
//! `HERD_PROCS_TUNING` adds `[tuning]` lines, replacing a test's own line
//! for the same field:
//!
//! ```sh
//! HERD_PROCS_TUNING='ack = "local"' cargo test --test real_herd -- --nocapture
//! HERD_PROCS_BIN=/path/to/old/herd cargo test --test real_herd -- --nocapture
//! ```

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::procs::{self, fresh_time, held_time, wait_held, Conn, HerdProcs, Load, PATIENCE};
use herd::config::HerdConfig;

const ROUNDS: usize = 200;
const LOAD_CLIENTS: usize = 32;
const KILL_TRIALS: usize = 50;
/// How long after a kill the survivors may take to show the update before it counts as lost.
const LOSS_DEADLINE: Duration = Duration::from_secs(3);

fn binary() -> PathBuf {
    std::env::var_os("HERD_PROCS_BIN").map_or_else(|| env!("CARGO_BIN_EXE_herd").into(), PathBuf::from)
}

/// `own` tuning lines with `HERD_PROCS_TUNING`'s lines laid over them, field by field.
fn tuning(own: &str) -> String {
    let extra = std::env::var("HERD_PROCS_TUNING").unwrap_or_default();
    let mut fields = BTreeMap::new();
    for line in own.lines().chain(extra.lines()) {
        if let Some((field, _)) = line.split_once('=') {
            fields.insert(field.trim().to_string(), line.trim().to_string());
        }
    }
    fields.into_values().collect::<Vec<_>>().join("\n")
}

fn start_default_herd(own_tuning: &str) -> HerdProcs {
    HerdProcs::start(&binary(), &HerdConfig::default_herd(), &tuning(own_tuning)).expect("the herd starts")
}

/// Sends `IAMAT <client>` with a fresh time to `origin`, reads the AT
/// reply, then at once asks every other server (on connections opened
/// before the reply) `WHATSAT <client> 10 1`. Returns the answers that
/// lacked the update: nothing held, or an older update.
fn read_your_write(herd: &HerdProcs, origin: &str, client: &str) -> Vec<String> {
    let mut readers: Vec<(String, Conn)> = herd
        .names()
        .into_iter()
        .filter(|n| n != origin)
        .map(|n| {
            let conn = Conn::open(herd.addr(&n)).expect("connect");
            (n, conn)
        })
        .collect();
    let (time, nanos) = fresh_time();
    let line = format!("IAMAT {client} +34.068930-118.445127 {time}");
    let reply = Conn::open(herd.addr(origin))
        .and_then(|mut c| c.ask(&line))
        .expect("AT reply");
    assert!(
        reply.starts_with(&format!("AT {origin} ")),
        "{line:?} got {reply:?}"
    );
    let question = format!("WHATSAT {client} 10 1");
    for (_, reader) in &mut readers {
        reader.send(&question).expect("send WHATSAT");
    }
    let mut misses = Vec::new();
    for (name, reader) in &mut readers {
        let at = reader.whatsat_reply().expect("WHATSAT reply");
        if at
            .as_deref()
            .map(procs::at_time_nanos)
            .is_none_or(|held| held < nanos)
        {
            misses.push(format!("{name} answered {at:?} after {reply:?}"));
        }
    }
    misses
}

#[test]
fn after_the_at_reply_every_server_answers_with_the_update_even_under_load() {
    let herd = start_default_herd("");
    let names = herd.names();
    let load = Load::start(herd.addr("Goloman"), LOAD_CLIENTS, usize::MAX).expect("load clients connect");
    let misses: Vec<String> = (0..ROUNDS)
        .flat_map(|round| read_your_write(&herd, &names[round % names.len()], "ryw"))
        .collect();
    let load = load.stop().expect("every load IAMAT answered");
    let reads = ROUNDS * (names.len() - 1);
    eprintln!(
        "read-your-writes: {} of {reads} reads missed the update ({ROUNDS} rounds, \
         {LOAD_CLIENTS} clients sent {} IAMATs to Goloman meanwhile)",
        misses.len(),
        load.len()
    );
    assert!(
        misses.is_empty(),
        "first misses: {:#?}",
        &misses[..misses.len().min(5)]
    );
}

/// Three servers in a line, West - Mid - East.
const LINE_HERD: &str = r#"
links = [["West", "Mid"], ["Mid", "East"]]
[[server]]
name = "West"
port = 0
[[server]]
name = "Mid"
port = 0
[[server]]
name = "East"
port = 0
"#;

/// The reply to an update that changes nothing at its origin (which holds
/// a newer one of the same client) waits until the servers the newer one
/// has not reached yet hold one of them: otherwise the client could read
/// older data there. Here Mid takes the newer update, and West (whose only
/// neighbour is Mid) gets the older one; East, stopped, stands in for a
/// server the newer update has not reached yet.
#[test]
fn the_reply_to_an_older_update_waits_for_the_newer_one_to_spread() {
    let line = HerdConfig::from_toml(LINE_HERD, "line herd").expect("valid herd");
    // Nothing is given up on during the test.
    let tuning = tuning("ack_timeout_ms = 30000\ndead_after_ms = 60000");
    let herd = HerdProcs::start(&binary(), &line, &tuning).expect("the herd starts");
    let (older, older_nanos) = fresh_time();
    let (newer, newer_nanos) = fresh_time();
    herd.pause("East").expect("East stops");
    let mut at_mid = Conn::open(herd.addr("Mid")).expect("connect");
    at_mid.send(&format!("IAMAT shared +1+1 {newer}")).expect("send");
    let stored = wait_held(herd.addr("Mid"), "shared", newer_nanos, PATIENCE).expect("WHATSAT");
    assert!(stored, "Mid never stored the newer update");

    let mut at_west = Conn::open(herd.addr("West")).expect("connect");
    at_west.send(&format!("IAMAT shared +2+2 {older}")).expect("send");
    let early = at_west.line_within(Duration::from_secs(1)).expect("read");
    assert!(
        early.is_none(),
        "West answered {early:?} while East (stopped) held nothing newer than before"
    );
    herd.resume("East").expect("East goes on");
    let reply = at_west.line().expect("AT reply once East is back");
    assert!(reply.starts_with("AT West "), "{reply}");
    let held = held_time(herd.addr("East"), "shared").expect("WHATSAT");
    assert!(
        held.is_some_and(|t| t >= older_nanos),
        "East holds {held:?} after West's reply"
    );
    let reply = at_mid.line().expect("AT reply");
    assert!(reply.starts_with("AT Mid "), "{reply}");
}

#[test]
fn an_acknowledged_update_survives_the_death_of_the_server_that_acknowledged_it() {
    let mut herd = start_default_herd("");
    let origin = "Goloman";
    let survivors: Vec<String> = herd.names().into_iter().filter(|n| n != origin).collect();
    let (mut lost, mut late, mut sent) = (Vec::new(), 0, Vec::new());
    for trial in 0..KILL_TRIALS {
        let client = format!("kill-{trial}");
        let (time, nanos) = fresh_time();
        let mut conn = Conn::open(herd.addr(origin)).expect("connect");
        let reply = conn
            .ask(&format!("IAMAT {client} +1+1 {time}"))
            .expect("AT reply");
        herd.kill(origin);
        assert!(reply.starts_with("AT Goloman "), "{reply}");
        sent.push((client.clone(), nanos));
        let mut missing = Vec::new();
        let deadline = Instant::now() + LOSS_DEADLINE;
        for name in &survivors {
            if held_time(herd.addr(name), &client)
                .expect("WHATSAT")
                .is_some_and(|t| t >= nanos)
            {
                continue;
            }
            late += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if !wait_held(herd.addr(name), &client, nanos, left).expect("WHATSAT") {
                missing.push(name.as_str());
            }
        }
        if !missing.is_empty() {
            lost.push(format!("trial {trial}: {missing:?} never got {client}"));
        }
        herd.restart(origin)
            .and_then(|()| herd.wait_ready())
            .expect("Goloman restarts and the herd is ready");
    }
    eprintln!(
        "kill after the AT reply: {} of {KILL_TRIALS} updates lost; {late} of {} survivor \
         reads right after the kill lacked the update",
        lost.len(),
        KILL_TRIALS * survivors.len()
    );
    assert!(lost.is_empty(), "{lost:#?}");
    // The restarted server learned each of them back from its neighbours.
    for (client, nanos) in &sent {
        let held = wait_held(herd.addr(origin), client, *nanos, PATIENCE).expect("WHATSAT");
        assert!(held, "the restarted {origin} never caught up with {client}");
    }
}

/// The PIDs `tool args` prints on stdout, sorted.
fn pids(tool: &str, args: &[String]) -> Vec<u32> {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}): this test needs lsof and fuser (apt-get install lsof psmisc)")
    });
    let mut pids: Vec<u32> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|p| p.parse().unwrap_or_else(|_| panic!("{tool} printed {p:?}")))
        .collect();
    pids.sort();
    pids
}

#[test]
fn lsof_and_fuser_on_a_client_port_name_only_its_server() {
    let mut herd = start_default_herd("");
    // Every finding is collected first, so one run shows them all.
    let mut wrong = Vec::new();
    for name in herd.names() {
        let (port, pid) = (herd.addr(&name).port(), herd.pid(&name));
        let lsof = pids("lsof", &[format!("-ti:{port}")]);
        let fuser = pids("fuser", &[format!("{port}/tcp")]);
        eprintln!("{name} (pid {pid}, port {port}): lsof {lsof:?}, fuser {fuser:?}");
        if lsof != [pid] || fuser != [pid] {
            wrong.push(format!(
                "{name} (pid {pid}): lsof -ti:{port} {lsof:?}, fuser {port}/tcp {fuser:?}"
            ));
        }
    }

    // What course scripts do to stop one server.
    let port = herd.addr("Goloman").port();
    let killed = Command::new("sh")
        .args(["-c", &format!("lsof -ti:{port} | xargs kill")])
        .status()
        .expect("run sh");
    assert!(killed.success(), "lsof -ti:{port} | xargs kill failed: {killed}");
    let status = herd.wait_exit("Goloman", PATIENCE).expect("wait");
    assert!(status.is_some(), "Goloman survived lsof -ti:{port} | xargs kill");

    let (time, nanos) = fresh_time();
    let hands =
        Conn::open(herd.addr("Hands")).and_then(|mut c| c.ask(&format!("IAMAT after-kill +2+2 {time}")));
    match hands {
        Ok(reply) if reply.starts_with("AT Hands ") => {}
        other => wrong.push(format!("Hands answered {other:?} after Goloman's kill")),
    }
    for name in ["Hands", "Holiday", "Welsh", "Wilkes"] {
        if !herd.is_running(name) {
            wrong.push(format!("{name} died with Goloman"));
        } else if !wait_held(herd.addr(name), "after-kill", nanos, PATIENCE).is_ok_and(|held| held) {
            wrong.push(format!(
                "{name} does not serve Hands' update after Goloman's kill"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_restarted_server_is_linked_again_before_its_neighbours_backoff_ends() {
    // Every reconnect delay is 4 to 8 s (half fixed, half jittered).
    let mut herd = start_default_herd(
        "backoff_min_ms = 8000\nbackoff_max_ms = 8000\nheartbeat_ms = 250\ndead_after_ms = 1000",
    );
    let within = Duration::from_secs(2);
    herd.kill("Welsh");
    let restarted = Instant::now();
    herd.start_server("Welsh").expect("Welsh starts again");
    let (time, nanos) = fresh_time();
    let reply = Conn::open(herd.addr("Welsh"))
        .and_then(|mut c| c.ask(&format!("IAMAT back +3+3 {time}")))
        .expect("AT reply");
    assert!(reply.starts_with("AT Welsh "), "{reply}");
    // Holiday is Welsh's only neighbour: it can only learn this over its
    // own link to Welsh, which must not wait out its backoff.
    let left = within.saturating_sub(restarted.elapsed());
    let held = wait_held(herd.addr("Holiday"), "back", nanos, left).expect("WHATSAT");
    eprintln!(
        "Holiday held Welsh's update {:?} after Welsh restarted: {held}",
        restarted.elapsed()
    );
    assert!(
        held,
        "Holiday did not hear from the restarted Welsh within {within:?}"
    );
}

/// A neighbour that sends nothing at all (stopped, or cut off) holds up an
/// AT reply for about `ack_timeout_ms`, not until its link is declared dead
/// (`dead_after_ms`): the feed's reader starts the timer as soon as an
/// acknowledgement is owed, even while nothing arrives to wake it.
#[test]
fn a_silent_neighbour_holds_up_the_at_reply_for_the_ack_timeout_only() {
    let (ack_timeout_ms, dead_after_ms) = (500, 10_000);
    let herd = start_default_herd(&format!(
        "ack_timeout_ms = {ack_timeout_ms}\ndead_after_ms = {dead_after_ms}"
    ));
    herd.pause("Welsh").expect("Welsh stops");
    let (time, nanos) = fresh_time();
    let asked = Instant::now();
    let reply = Conn::open(herd.addr("Holiday"))
        .and_then(|mut c| c.ask(&format!("IAMAT stopped +4+4 {time}")))
        .expect("AT reply");
    let waited = asked.elapsed();
    eprintln!("AT reply with Welsh stopped after {waited:?}: {reply}");
    assert!(reply.starts_with("AT Holiday "), "{reply}");
    assert!(
        waited >= Duration::from_millis(ack_timeout_ms),
        "the reply did not wait for Welsh ({waited:?})"
    );
    assert!(
        waited < Duration::from_millis(dead_after_ms / 2),
        "the reply waited {waited:?}: until Welsh's link was dead, not {ack_timeout_ms} ms"
    );
    herd.resume("Welsh").expect("SIGCONT");
    let held = wait_held(herd.addr("Welsh"), "stopped", nanos, PATIENCE).expect("WHATSAT");
    assert!(held, "Welsh never got the update it was stopped for");
}
