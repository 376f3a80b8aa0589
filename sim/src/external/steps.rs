//! The timeline's actions against real processes: client steps become
//! connections (and pending verdicts); crashes, silent deaths and restarts
//! become signals and commands; link faults go to the proxies when the
//! herd goes through them, and are reported as skipped when it does not;
//! `holds` steps need the simulator's inside view and are skipped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::clients::{batch, talk, Job, ReadBack, Slot};
use super::judge::{AfterAck, Expect, Judge, Pending};
use super::stage::Stage;
use crate::driver::{location_for, Caveat, Failure, CLIENT_TIMEOUT_MS, READ_ARGS};
use crate::observe::{Fault, Note};
use crate::oracle::text::{iamat, nanos_text};
use crate::oracle::Violation;
use crate::scenario::{decode_hex, Action, PlacesMode};
use crate::world::places::Behaviour;

use super::clock::RealClock;

pub struct Parts<'a> {
    pub stage: &'a mut Stage,
    pub judge: &'a mut Judge,
}

fn fail(place: &str, violation: Violation) -> Failure {
    Failure {
        place: place.to_string(),
        violation,
    }
}

fn skip(judge: &mut Judge, place: &str, what: String) {
    judge.caveats.push(Caveat {
        place: place.to_string(),
        what,
        skipped: true,
    });
}

pub async fn apply(parts: &mut Parts<'_>, action: &Action, place: &str) -> Result<(), Failure> {
    let stage = &mut *parts.stage;
    match action.clone() {
        Action::Client { .. } => client(parts, action, place),
        Action::ManyClients {
            count,
            prefix,
            servers,
            ..
        } => {
            many_clients(parts, count, &prefix, &servers, place);
            Ok(())
        }
        Action::Crash { server, .. } => {
            stage.crash(&server);
            Ok(())
        }
        Action::SilentDeath { server, .. } => {
            stage.stop(Fault::SilentDeath { server });
            Ok(())
        }
        Action::Pause { server, .. } => {
            stage.stop(Fault::Pause { server });
            Ok(())
        }
        Action::Resume { server, .. } => {
            stage.resume(&server);
            Ok(())
        }
        Action::Restart { server, .. } => {
            let error = stage.restart(&server).await.err();
            parts.judge.inside.restarted(&server);
            parts.judge.watcher.restarted(&server);
            error.map_or(Ok(()), |error| Err(fail(place, Violation::HostFailed { error })))
        }
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
                PlacesMode::Status => Behaviour::Status(status.unwrap_or_default()),
                PlacesMode::Http => Behaviour::Http(code.unwrap_or(500)),
            };
            stage.recording.note(Note::Places(format!("{behaviour:?}")));
            stage.places.set(behaviour);
            Ok(())
        }
        Action::Holds { .. } => {
            let why = "`holds` reads a server's store from inside, which only the simulator can; \
                       a real herd is judged by what its clients read";
            skip(parts.judge, place, why.into());
            Ok(())
        }
        Action::Partition { a, b, oneway, .. } => link(parts, Fault::Partition { a, b, oneway }, place),
        Action::Heal { a, b, oneway, .. } => link(parts, Fault::Heal { a, b, oneway }, place),
        Action::Hold { a, b, .. } => link(parts, Fault::Hold { a, b }, place),
        Action::Release { a, b, .. } => link(parts, Fault::Release { a, b }, place),
        Action::Latency { a, b, ms, .. } => link(parts, Fault::Latency { a, b, ms }, place),
        Action::Loss { a, b, rate, .. } => link(parts, Fault::Loss { a, b, rate }, place),
        Action::Converged { .. } => unreachable!("the drive loop waits for convergence"),
    }
}

fn link(parts: &mut Parts, fault: Fault, place: &str) -> Result<(), Failure> {
    if !parts.stage.link_fault(fault) {
        let why = "not supported by this herd: no traffic reached the link proxies while it \
                   started, so it does not dial the neighbour addresses in {config}";
        skip(parts.judge, place, why.into());
    }
    Ok(())
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
    let at = |why: String| fail(place, Violation::BadStep { why });
    let now = nanos_text(RealClock::posix_ns());
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
    let stage = &mut *parts.stage;
    let mut job = Job {
        server: server.clone(),
        addr: stage.addr(server),
        bytes: bytes.clone(),
        half_close: *half_close,
        timeout: Duration::from_millis(timeout_ms.unwrap_or(CLIENT_TIMEOUT_MS)),
        after_ack: None,
    };
    let mut after_ack = None;
    if *read_after_ack || *crash_after_ack {
        let readers: Vec<(String, std::net::SocketAddr)> = if *read_after_ack {
            stage.up().into_iter().filter(|(s, _)| s != server).collect()
        } else {
            Vec::new()
        };
        let id = iamat(bytes.trim_ascii_end())
            .map(|i| i.client)
            .unwrap_or_default();
        let ask = format!("WHATSAT {id} {READ_ARGS}\n").into_bytes();
        for (reader, _) in &readers {
            parts.judge.sending(reader, &ask);
        }
        let names = readers.iter().map(|(r, _)| r.clone()).collect();
        job.after_ack = Some(ReadBack { readers, ask });
        after_ack = Some(AfterAck::new(names, *crash_after_ack));
    }
    let slot = Slot::default();
    let host: Arc<str> = Arc::from(client.as_str());
    let (recording, clock) = (stage.recording.clone(), stage.clock);
    parts.judge.expect(Pending {
        place: place.to_string(),
        label: client.clone(),
        server: server.clone(),
        sent: bytes,
        slot: slot.clone(),
        expect: Expect::Step {
            exact: expect.as_ref().map(|e| e.replace("{now}", &now)),
            pattern,
            status: expect_places.as_ref().and_then(|p| p.status.clone()),
            results: expect_places.as_ref().and_then(|p| p.results),
        },
        after_ack,
    });
    tokio::task::spawn_local(talk(host, job, slot, recording, clock));
    Ok(())
}

fn many_clients(parts: &mut Parts, count: usize, prefix: &str, servers: &[String], place: &str) {
    let stage = &mut *parts.stage;
    let servers: Vec<String> = if servers.is_empty() {
        stage.herd().servers.iter().map(|s| s.name.clone()).collect()
    } else {
        servers.to_vec()
    };
    stage.recording.note(Note::ManyClients {
        count,
        prefix: prefix.to_string(),
        servers: servers.clone(),
    });
    let now = nanos_text(RealClock::posix_ns());
    let mut per_server: BTreeMap<&str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for i in 0..count {
        let server = &servers[i % servers.len()];
        let line = format!("IAMAT {prefix}{i:04} {} {now}\n", location_for(i));
        per_server
            .entry(server.as_str())
            .or_default()
            .push((format!("{prefix}{i:04}"), line.into_bytes()));
    }
    let host: Arc<str> = Arc::from(format!("{prefix}NNNN").as_str());
    for (server, lines) in per_server {
        let job = Job {
            server: server.to_string(),
            addr: stage.addr(server),
            bytes: Vec::new(),
            half_close: false,
            timeout: Duration::from_millis(CLIENT_TIMEOUT_MS),
            after_ack: None,
        };
        let mut slots = Vec::new();
        for (label, line) in lines {
            let slot = Slot::default();
            parts.judge.expect(Pending {
                place: place.to_string(),
                label,
                server: server.to_string(),
                sent: line.clone(),
                slot: slot.clone(),
                expect: Expect::Ack,
                after_ack: None,
            });
            slots.push((line, slot));
        }
        let (recording, clock) = (stage.recording.clone(), stage.clock);
        tokio::task::spawn_local(batch(host.clone(), job, slots, recording, clock));
    }
}
