//! The steps that stress a herd rather than use it: bulk loads (many
//! clients' IAMATs pipelined over a few connections), abusive clients
//! (abuse.rs; squatting is the world's), and probes that must be answered
//! in time.

use std::time::Duration;

use super::abuse::{hello_storm, hoard, resync_spam, Target};
use super::clients::{Job, Slot};
use super::judge::{Expect, Pending};
use super::{Failure, Parts, CLIENT_TIMEOUT_MS};
use crate::observe::Note;
use crate::oracle::text::nanos_text;
use crate::scenario::{Action, Attack};

/// The client host every abusive client runs on.
const ABUSER: &str = "abuser";

pub(super) fn apply(parts: &mut Parts, action: &Action, place: &str) -> Result<(), Failure> {
    match action {
        Action::Bulk {
            server,
            count,
            prefix,
            connections,
            ..
        } => bulk(parts, server, *count, prefix, *connections, place),
        Action::Abuse {
            server,
            attack,
            count,
            for_ms,
            claim,
            ..
        } => abuse(parts, server, *attack, *count, *for_ms, claim.as_deref(), place),
        Action::Probe {
            client,
            server,
            send,
            within_ms,
            ..
        } => {
            let now = nanos_text(parts.world.now_ns());
            let bytes = format!("{}\n", send.replace("{now}", &now)).into_bytes();
            let timeout = Duration::from_millis(within_ms + CLIENT_TIMEOUT_MS);
            let expect = Expect::Probe {
                within_ms: *within_ms,
            };
            exchange(parts, client, server, bytes, timeout, expect, place)
        }
        _ => unreachable!("steps.rs applies the rest"),
    }
}

/// One connection to `server` that sends `bytes`, half-closes, and is
/// judged as `expect` once it is over.
fn exchange(
    parts: &mut Parts,
    host: &str,
    server: &str,
    bytes: Vec<u8>,
    timeout: Duration,
    expect: Expect,
    place: &str,
) -> Result<(), Failure> {
    let job = Job {
        server: server.to_string(),
        port: parts.world.port(server),
        bytes: bytes.clone(),
        half_close: true,
        timeout,
        after_ack: None,
    };
    let slot = Slot::default();
    let gives_up_at = parts.world.now() + job.gives_up_within();
    parts
        .clients
        .talk(parts.world, host, job, slot.clone())
        .map_err(|v| Failure::at(place, v))?;
    parts.judge.expect(
        Pending {
            place: place.to_string(),
            label: host.to_string(),
            server: server.to_string(),
            sent: bytes,
            slot,
            expect,
            after_ack: None,
        },
        gives_up_at,
    );
    Ok(())
}

/// `count` new clients' IAMATs, dealt over `connections` connections.
fn bulk(
    parts: &mut Parts,
    server: &str,
    count: usize,
    prefix: &str,
    connections: usize,
    place: &str,
) -> Result<(), Failure> {
    let note = Note::Bulk {
        server: server.to_string(),
        count,
        connections,
    };
    parts.log.note(parts.world.now(), note);
    let now = nanos_text(parts.world.now_ns());
    let tuning = &parts.world.herd().tuning;
    // Each IAMAT may wait out a silent neighbour before its reply.
    let per_line_ms = tuning.ack_timeout_ms + 100;
    let host = format!("{prefix}NNNNNN");
    for c in 0..connections {
        let mut bytes = Vec::new();
        for i in (c..count).step_by(connections) {
            let line = format!("IAMAT {prefix}{i:06} {} {now}\n", super::prepare::location_for(i));
            bytes.extend_from_slice(line.as_bytes());
        }
        let lines = count.div_ceil(connections) as u64;
        let timeout = Duration::from_millis(CLIENT_TIMEOUT_MS + lines * per_line_ms);
        exchange(parts, &host, server, bytes, timeout, Expect::Bulk, place)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn abuse(
    parts: &mut Parts,
    server: &str,
    attack: Attack,
    count: usize,
    for_ms: u64,
    claim: Option<&str>,
    place: &str,
) -> Result<(), Failure> {
    let now = parts.world.now();
    let note = Note::Abuse {
        server: server.to_string(),
        attack: format!("{attack:?}"),
        count,
    };
    parts.log.note(now, note);
    let port = parts.world.port(server);
    let claim = claim.map_or_else(|| neighbour_of(parts, server), str::to_string);
    let target = Target {
        server: server.to_string(),
        port,
        claim: claim.clone(),
        count,
        for_ms,
    };
    let secret = parts.world.secret().is_some();
    let slot = Slot::default();
    let at = |v| Failure::at(place, v);
    match attack {
        Attack::Squat => {
            parts.world.squat(server);
            return Ok(());
        }
        Attack::Hoard => {
            let task = hoard(server.to_string(), port, count, for_ms);
            return parts.clients.run(parts.world, ABUSER, task).map_err(at);
        }
        Attack::HelloStorm => parts
            .clients
            .run(parts.world, ABUSER, hello_storm(target, slot.clone())),
        Attack::ResyncSpam => parts
            .clients
            .run(parts.world, ABUSER, resync_spam(target, slot.clone())),
    }
    .map_err(at)?;
    if !secret {
        // Without a secret a stranger may take a neighbour's feed (documented).
        let settle = crate::world::links::settle(&parts.world.herd().tuning);
        let until = now + Duration::from_millis(for_ms) + settle * 2;
        parts.judge.inside.drops.excuse(server, &claim, until);
    }
    parts.judge.expect(
        Pending {
            place: place.to_string(),
            label: ABUSER.to_string(),
            server: server.to_string(),
            sent: Vec::new(),
            slot,
            expect: Expect::Stranger { secret },
            after_ack: None,
        },
        now + Duration::from_millis(for_ms + CLIENT_TIMEOUT_MS),
    );
    Ok(())
}

/// The first neighbour of `server`, whom a stranger says it is by default.
fn neighbour_of(parts: &Parts, server: &str) -> String {
    let herd = parts.world.herd();
    herd.neighbours(server)
        .first()
        .map_or_else(|| server.to_string(), |s| s.name.clone())
}
