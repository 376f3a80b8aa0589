//! The timeline's actions, applied between ticks: client steps become
//! jobs for client hosts (and pending verdicts), faults and Places changes
//! go to the world, `holds` steps read the inside view.

use super::prepare::{client_step, many_jobs, many_servers, places_behaviour};
use super::{Failure, Parts};
use crate::observe::{Fault, Note};
use crate::oracle::text::nanos_text;
use crate::oracle::Violation;
use crate::scenario::{placeholders, Action};

pub(super) fn apply(parts: &mut Parts, action: &Action, place: &str) -> Result<(), Failure> {
    if let Some(fault) = fault_of(action) {
        parts.log.note(parts.world.now(), Note::Fault(fault.clone()));
        injure(parts, &fault);
        return Ok(());
    }
    match action {
        Action::Client { .. } => client(parts, action, place),
        Action::Bulk { .. } | Action::Abuse { .. } | Action::Probe { .. } => {
            super::stress::apply(parts, action, place)
        }
        Action::ManyClients {
            count,
            prefix,
            servers,
            ..
        } => many_clients(parts, *count, prefix, servers, place),
        Action::Places { .. } => {
            let behaviour = places_behaviour(action).expect("a places step");
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
        Action::Reset { a, b, .. } => Fault::Reset { a, b },
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
        Fault::Reset { a, b } => world.reset(a, b),
    }
}

fn client(parts: &mut Parts, action: &Action, place: &str) -> Result<(), Failure> {
    let now = nanos_text(parts.world.now_ns());
    let up = parts.world.links().up_servers();
    let world = &*parts.world;
    let (job, pending) = client_step(
        action,
        place,
        &now,
        &mut parts.sent,
        &|s| world.port(s),
        up,
        &mut parts.judge.inside,
    )?;
    let gives_up_at = parts.world.now() + job.gives_up_within();
    parts
        .clients
        .talk(parts.world, &pending.label, job, pending.slot.clone())
        .map_err(|v| Failure::at(place, v))?;
    parts.judge.expect(pending, gives_up_at);
    Ok(())
}

fn many_clients(
    parts: &mut Parts,
    count: usize,
    prefix: &str,
    servers: &[String],
    place: &str,
) -> Result<(), Failure> {
    let servers = many_servers(servers, parts.world.herd());
    let note = Note::ManyClients {
        count,
        prefix: prefix.to_string(),
        servers: servers.clone(),
    };
    parts.log.note(parts.world.now(), note);
    let now = nanos_text(parts.world.now_ns());
    let world = &*parts.world;
    for (job, pendings) in many_jobs(count, prefix, &servers, place, &now, &|s| world.port(s)) {
        let slots = pendings
            .iter()
            .map(|p| (p.sent.clone(), p.slot.clone()))
            .collect();
        let host = format!("{prefix}NNNN");
        let gives_up_at = parts.world.now() + job.gives_up_within();
        parts
            .clients
            .batch(parts.world, &host, job, slots)
            .map_err(|v| Failure::at(place, v))?;
        pendings
            .into_iter()
            .for_each(|p| parts.judge.expect(p, gives_up_at));
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
    let time = time
        .as_ref()
        .map(|t| placeholders::fill(t, "", &parts.sent, false));
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
        (&time, &entry.time, "time"),
    ] {
        if let Some(want) = want.as_ref().filter(|w| *w != got) {
            return Err(wrong(format!("{what} {want}")));
        }
    }
    Ok(())
}
