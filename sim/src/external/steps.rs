//! The timeline's actions against real processes: client steps become
//! connections (and pending verdicts); crashes, silent deaths and restarts
//! become signals and commands; link faults go to the proxies when the
//! herd goes through them, and are reported as skipped when it does not;
//! `holds` steps need the simulator's inside view and are skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::clock::RealClock;
use super::stage::Stage;
use crate::driver::judge::{Herd, Judge};
use crate::driver::prepare::{client_step, many_jobs, many_servers, places_behaviour};
use crate::driver::talk::{batch, talk};
use crate::driver::{Caveat, Failure};
use crate::observe::{Fault, Note};
use crate::oracle::text::nanos_text;
use crate::oracle::Violation;
use crate::scenario::{Action, PlacesMode};

pub struct Parts<'a> {
    pub stage: &'a mut Stage,
    pub judge: &'a mut Judge,
    /// The `{now}` each client step with an id sent last, by id.
    pub sent: &'a mut BTreeMap<String, String>,
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
            stage.watcher.restarted(&server);
            error.map_or(Ok(()), |error| {
                Err(Failure::at(place, Violation::HostFailed { error }))
            })
        }
        Action::Places {
            mode: PlacesMode::EchoKey,
            ..
        } => {
            let why = "the Places key of a real herd is its own secret: the stand-in cannot echo it";
            skip(parts.judge, place, why.into());
            Ok(())
        }
        Action::Places { .. } => {
            let behaviour = places_behaviour(action).expect("a places step");
            stage.recording.note(Note::Places(format!("{behaviour:?}")));
            stage.places.set(behaviour);
            Ok(())
        }
        Action::Bulk { .. } | Action::Abuse { .. } | Action::Probe { .. } | Action::Reset { .. } => {
            let why = "bulk loads, abusive clients, probes and resets are drawn by the explorer and \
                       run in the simulator only";
            skip(parts.judge, place, why.into());
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
    let stage = &mut *parts.stage;
    let now = nanos_text(RealClock::posix_ns());
    let up = stage.links.up_servers();
    let (job, pending) = client_step(
        action,
        place,
        &now,
        parts.sent,
        &|s| stage.port(s),
        up,
        &mut parts.judge.inside,
    )?;
    stage.watcher.sending(&pending.sent);
    let host: Arc<str> = Arc::from(pending.label.as_str());
    let gives_up_at = stage.now() + job.gives_up_within();
    let run = talk(stage.transport(), host, job, pending.slot.clone());
    parts.judge.expect(pending, gives_up_at);
    tokio::task::spawn_local(run);
    Ok(())
}

fn many_clients(parts: &mut Parts, count: usize, prefix: &str, servers: &[String], place: &str) {
    let stage = &mut *parts.stage;
    let servers = many_servers(servers, stage.herd());
    stage.recording.note(Note::ManyClients {
        count,
        prefix: prefix.to_string(),
        servers: servers.clone(),
    });
    let now = nanos_text(RealClock::posix_ns());
    let host: Arc<str> = Arc::from(format!("{prefix}NNNN").as_str());
    for (job, pendings) in many_jobs(count, prefix, &servers, place, &now, &|s| stage.port(s)) {
        let lines: Vec<_> = pendings
            .iter()
            .map(|p| (p.sent.clone(), p.slot.clone()))
            .collect();
        let gives_up_at = stage.now() + job.gives_up_within();
        for p in pendings {
            stage.watcher.sending(&p.sent);
            parts.judge.expect(p, gives_up_at);
        }
        tokio::task::spawn_local(batch(stage.transport(), host.clone(), job, lines));
    }
}
