//! The timeline's actions, applied between ticks: client steps become
//! jobs for client hosts (and pending verdicts), faults and Places changes
//! go to the world, `holds` steps read the inside view.

use std::collections::BTreeMap;
use std::time::Duration;

use super::clients::{Job, ReadBack};
use super::judge::{AfterAck, Expect, Pending};
use super::{Failure, Parts, CLIENT_TIMEOUT_MS, READ_ARGS};
use crate::observe::{Fault, Note};
use crate::oracle::text::{iamat, nanos_text};
use crate::oracle::Violation;
use crate::scenario::{decode_hex, Action, PlacesMode};
use crate::world::places::Behaviour;

pub(super) fn apply(parts: &mut Parts, action: &Action, place: &str) -> Result<(), Failure> {
    if let Some(fault) = fault_of(action) {
        parts.log.note(parts.world.now(), Note::Fault(fault.clone()));
        injure(parts, &fault);
        return Ok(());
    }
    match action {
        Action::Client { .. } => client(parts, action, place),
        Action::ManyClients {
            count,
            prefix,
            servers,
            ..
        } => many_clients(parts, *count, prefix, servers, place),
        Action::Places {
            mode,
            delay_ms,
            status,
            code,
            ..
        } => {
            let behaviour = match mode {
                PlacesMode::Ok => Behaviour::Ok,
                PlacesMode::Down => Behaviour::Down,
                PlacesMode::Slow => Behaviour::Slow {
                    delay_ms: delay_ms.unwrap_or(0),
                },
                PlacesMode::Status => Behaviour::Status(status.clone().unwrap_or_default()),
                PlacesMode::Http => Behaviour::Http(code.unwrap_or(500)),
            };
            parts
                .log
                .note(parts.world.now(), Note::Places(format!("{behaviour:?}")));
            parts.world.set_places(behaviour);
            Ok(())
        }
        Action::Holds { .. } => holds(parts, action).map_err(|v| Failure::at(place, v)),
        _ => unreachable!("faults are applied above, and the drive loop waits for convergence"),
    }
}

/// The fault an action is, if it is one.
fn fault_of(action: &Action) -> Option<Fault> {
    Some(match action.clone() {
        Action::Partition { a, b, oneway, .. } => Fault::Partition { a, b, oneway },
        Action::Heal { a, b, oneway, .. } => Fault::Heal { a, b, oneway },
        Action::Hold { a, b, .. } => Fault::Hold { a, b },
        Action::Release { a, b, .. } => Fault::Release { a, b },
        Action::Latency { a, b, ms, .. } => Fault::Latency { a, b, ms },
        Action::Loss { a, b, rate, .. } => Fault::Loss { a, b, rate },
        Action::Crash { server, .. } => Fault::Crash { server },
        Action::SilentDeath { server, .. } => Fault::SilentDeath { server },
        Action::Restart { server, .. } => Fault::Restart { server },
        Action::Pause { server, .. } => Fault::Pause { server },
        Action::Resume { server, .. } => Fault::Resume { server },
        _ => return None,
    })
}

fn injure(parts: &mut Parts, fault: &Fault) {
    let world = &mut *parts.world;
    match fault {
        Fault::Partition { a, b, oneway } => world.cut(a, b, *oneway, true),
        Fault::Heal { a, b, oneway } => world.cut(a, b, *oneway, false),
        Fault::Hold { a, b } => world.hold(a, b, true),
        Fault::Release { a, b } => world.hold(a, b, false),
        Fault::Latency { a, b, ms } => world.latency(a, b, *ms),
        Fault::Loss { a, b, rate } => world.loss(a, b, *rate),
        Fault::Crash { server } => world.crash(server),
        Fault::SilentDeath { server } => world.silent_death(server),
        Fault::Pause { server } => world.pause(server),
        Fault::Resume { server } => world.resume(server),
        Fault::Restart { server } => {
            world.restart(server);
            parts.judge.inside.restarted(server);
        }
    }
}

fn client(parts: &mut Parts, action: &Action, place: &str) -> Result<(), Failure> {
    let Action::Client {
        client,
        server,
        send,
        raw,
        hex,
        half_close,
        repeat,
        expect,
        expect_match,
        expect_places,
        timeout_ms,
        read_after_ack,
        crash_after_ack,
        ..
    } = action
    else {
        unreachable!("a client step");
    };
    let at = |why: String| Failure::at(place, Violation::BadStep { why });
    let now = nanos_text(parts.world.now_ns());
    let text = send.replace("{now}", &now);
    let one = if *hex {
        decode_hex(&text).map_err(at)?
    } else {
        text.into_bytes()
    };
    let mut bytes = one.repeat(repeat.unwrap_or(1));
    if !raw {
        bytes.push(b'\n');
    }
    let pattern = expect_match
        .as_ref()
        .map(|p| regex::Regex::new(&p.replace("{now}", &regex::escape(&now))))
        .transpose()
        .map_err(|e| at(format!("expect_match: {e}")))?;
    let timeout = Duration::from_millis(timeout_ms.unwrap_or(CLIENT_TIMEOUT_MS));
    let mut job = Job {
        server: server.clone(),
        port: parts.world.port(server),
        bytes: bytes.clone(),
        half_close: *half_close,
        timeout,
        after_ack: None,
    };
    let mut after_ack = None;
    if *read_after_ack || *crash_after_ack {
        let readers: Vec<String> = if *read_after_ack {
            let up = parts.world.links().up_servers();
            up.into_iter().filter(|s| s != server).collect()
        } else {
            Vec::new()
        };
        let id = iamat(bytes.trim_ascii_end())
            .map(|i| i.client)
            .unwrap_or_default();
        let ask = format!("WHATSAT {id} {READ_ARGS}\n").into_bytes();
        for reader in &readers {
            parts.judge.inside.sending(reader, &ask);
        }
        let ports = readers.iter().map(|r| (r.clone(), parts.world.port(r))).collect();
        job.after_ack = Some(ReadBack { readers: ports, ask });
        after_ack = Some(AfterAck::new(readers, *crash_after_ack));
    }
    let slot = parts
        .clients
        .talk(parts.world, client, job)
        .map_err(|v| Failure::at(place, v))?;
    parts.judge.expect(Pending {
        place: place.to_string(),
        label: client.clone(),
        server: server.clone(),
        sent: bytes,
        slot,
        expect: Expect::Step {
            exact: expect.as_ref().map(|e| e.replace("{now}", &now)),
            pattern,
            status: expect_places.as_ref().and_then(|p| p.status.clone()),
            results: expect_places.as_ref().and_then(|p| p.results),
        },
        after_ack,
    });
    Ok(())
}

fn many_clients(
    parts: &mut Parts,
    count: usize,
    prefix: &str,
    servers: &[String],
    place: &str,
) -> Result<(), Failure> {
    let servers: Vec<String> = if servers.is_empty() {
        parts
            .world
            .herd()
            .servers
            .iter()
            .map(|s| s.name.clone())
            .collect()
    } else {
        servers.to_vec()
    };
    let note = Note::ManyClients {
        count,
        prefix: prefix.to_string(),
        servers: servers.clone(),
    };
    parts.log.note(parts.world.now(), note);
    let now = nanos_text(parts.world.now_ns());
    let mut per_server: BTreeMap<&str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for i in 0..count {
        let server = &servers[i % servers.len()];
        let line = format!("IAMAT {prefix}{i:04} {} {now}\n", location_for(i));
        per_server
            .entry(server.as_str())
            .or_default()
            .push((format!("{prefix}{i:04}"), line.into_bytes()));
    }
    for (server, lines) in per_server {
        let job = Job {
            server: server.to_string(),
            port: parts.world.port(server),
            bytes: Vec::new(),
            half_close: false,
            timeout: Duration::from_millis(CLIENT_TIMEOUT_MS),
            after_ack: None,
        };
        let host = format!("{prefix}NNNN");
        let sent: Vec<Vec<u8>> = lines.iter().map(|(_, line)| line.clone()).collect();
        let slots = parts
            .clients
            .batch(parts.world, &host, job, sent)
            .map_err(|v| Failure::at(place, v))?;
        for ((label, line), slot) in lines.into_iter().zip(slots) {
            parts.judge.expect(Pending {
                place: place.to_string(),
                label,
                server: server.to_string(),
                sent: line,
                slot,
                expect: Expect::Ack,
                after_ack: None,
            });
        }
    }
    Ok(())
}

fn holds(parts: &mut Parts, action: &Action) -> Result<(), Violation> {
    let Action::Holds {
        server,
        client,
        origin,
        location,
        time,
        none,
        ..
    } = action
    else {
        unreachable!("a holds step");
    };
    if !parts.world.links().is_up(server) {
        return Err(Violation::NotRunning {
            server: server.clone(),
        });
    }
    let held = parts.judge.inside.model.held(server, client);
    let shown = held.map(ToString::to_string);
    let note = Note::Holds {
        server: server.clone(),
        client: client.clone(),
        held: shown.clone(),
    };
    parts.log.note(parts.world.now(), note);
    let wrong = |want: String| Violation::Holds {
        server: server.clone(),
        client: client.clone(),
        held: shown.clone(),
        want,
    };
    let Some(entry) = held else {
        return if *none {
            Ok(())
        } else {
            Err(wrong("an update".into()))
        };
    };
    if *none {
        return Err(wrong("nothing".into()));
    }
    for (want, got, what) in [
        (origin, &entry.origin, "origin"),
        (location, &entry.location, "location"),
        (time, &entry.time, "time"),
    ] {
        if let Some(want) = want.as_ref().filter(|w| *w != got) {
            return Err(wrong(format!("{what} {want}")));
        }
    }
    Ok(())
}

/// A spread of valid locations for generated clients.
pub(crate) fn location_for(i: usize) -> String {
    let lat = -80.0 + ((i * 7_919) % 16_000) as f64 / 100.0;
    let lon = -170.0 + ((i * 104_729) % 34_000) as f64 / 100.0;
    format!("{lat:+.6}{lon:+.6}")
}
