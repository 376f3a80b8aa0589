//! Steps made ready to run, for the simulation and for external mode
//! alike: a client step's bytes (placeholders filled in, hex decoded, the
//! line ending added), its connection's job and the pending verdict with the
//! slot the client fills; what a `places` step asks of Places. Nothing
//! here touches a network.

use std::collections::BTreeMap;
use std::time::Duration;

use herd::config::HerdConfig;

use super::judge::{AfterAck, Expect, Pending};
use super::talk::{Job, ReadBack, Slot};
use super::{Failure, CLIENT_TIMEOUT_MS, READ_ARGS};
use crate::oracle::text::iamat;
use crate::oracle::{Inside, Violation};
use crate::scenario::{decode_hex, placeholders, Action, PlacesMode};
use crate::world::places::Behaviour;

/// A `client` step's job and verdict: `now` stands for `{now}`, `sent`
/// holds the `{now}` of each named send so far (this step's is added),
/// `port` says where a server listens, `up` which servers run (those asked
/// after an ack). The reads after an ack are told to `inside` as they are
/// made.
pub fn client_step(
    action: &Action,
    place: &str,
    now: &str,
    sent: &mut BTreeMap<String, String>,
    port: &dyn Fn(&str) -> u16,
    up: Vec<String>,
    inside: &mut Inside,
) -> Result<(Job, Pending), Failure> {
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
        id,
        ..
    } = action
    else {
        unreachable!("a client step");
    };
    let at = |why: String| Failure::at(place, Violation::BadStep { why });
    let fill = |text: &str, escape: bool| placeholders::fill(text, now, sent, escape);
    let text = fill(send, false);
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
        .map(|p| regex::Regex::new(&fill(p, true)))
        .transpose()
        .map_err(|e| at(format!("expect_match: {e}")))?;
    let exact = expect.as_ref().map(|e| fill(e, false));
    if let Some(id) = id {
        sent.insert(id.clone(), now.to_string());
    }
    let mut job = Job {
        server: server.clone(),
        port: port(server),
        bytes: bytes.clone(),
        half_close: *half_close,
        timeout: Duration::from_millis(timeout_ms.unwrap_or(CLIENT_TIMEOUT_MS)),
        after_ack: None,
    };
    let mut after_ack = None;
    if *read_after_ack || *crash_after_ack {
        let readers: Vec<String> = if *read_after_ack {
            up.into_iter().filter(|s| s != server).collect()
        } else {
            Vec::new()
        };
        let id = iamat(bytes.trim_ascii_end())
            .map(|i| i.client)
            .unwrap_or_default();
        let ask = format!("WHATSAT {id} {READ_ARGS}\n").into_bytes();
        for reader in &readers {
            inside.sending(reader, &ask);
        }
        let ports = readers.iter().map(|r| (r.clone(), port(r))).collect();
        job.after_ack = Some(ReadBack { readers: ports, ask });
        after_ack = Some(AfterAck::new(readers, *crash_after_ack));
    }
    let pending = Pending {
        place: place.to_string(),
        label: client.clone(),
        server: server.clone(),
        sent: bytes,
        slot: Slot::default(),
        expect: Expect::Step {
            exact,
            pattern,
            status: expect_places.as_ref().and_then(|p| p.status.clone()),
            results: expect_places.as_ref().and_then(|p| p.results),
        },
        after_ack,
    };
    Ok((job, pending))
}

/// A `many_clients` step: per server, one connection's job and the
/// pending verdict of each of its lines (their `sent` is the line, their
/// slot what the client fills).
pub fn many_jobs(
    count: usize,
    prefix: &str,
    servers: &[String],
    place: &str,
    now: &str,
    port: &dyn Fn(&str) -> u16,
) -> Vec<(Job, Vec<Pending>)> {
    let mut per_server: BTreeMap<&str, Vec<Pending>> = BTreeMap::new();
    for i in 0..count {
        let server = &servers[i % servers.len()];
        let line = format!("IAMAT {prefix}{i:04} {} {now}\n", location_for(i));
        per_server.entry(server.as_str()).or_default().push(Pending {
            place: place.to_string(),
            label: format!("{prefix}{i:04}"),
            server: server.clone(),
            sent: line.into_bytes(),
            slot: Slot::default(),
            expect: Expect::Ack,
            after_ack: None,
        });
    }
    per_server
        .into_iter()
        .map(|(server, pendings)| {
            let job = Job {
                server: server.to_string(),
                port: port(server),
                bytes: Vec::new(),
                half_close: false,
                timeout: Duration::from_millis(CLIENT_TIMEOUT_MS),
                after_ack: None,
            };
            (job, pendings)
        })
        .collect()
}

/// The servers a `many_clients` step spreads over: its own list, or every
/// server of the herd.
pub fn many_servers(servers: &[String], herd: &HerdConfig) -> Vec<String> {
    if servers.is_empty() {
        herd.servers.iter().map(|s| s.name.clone()).collect()
    } else {
        servers.to_vec()
    }
}

/// How Places answers after a `places` step.
pub fn places_behaviour(action: &Action) -> Option<Behaviour> {
    let Action::Places {
        mode,
        delay_ms,
        status,
        code,
        ..
    } = action
    else {
        return None;
    };
    Some(match mode {
        PlacesMode::Ok => Behaviour::Ok,
        PlacesMode::Down => Behaviour::Down,
        PlacesMode::Slow => Behaviour::Slow {
            delay_ms: delay_ms.unwrap_or(0),
        },
        PlacesMode::Status => Behaviour::Status(status.clone().unwrap_or_default()),
        PlacesMode::Http => Behaviour::Http(code.unwrap_or(500)),
        PlacesMode::EchoKey => Behaviour::EchoKey,
    })
}

/// A spread of valid locations for generated clients.
pub(super) fn location_for(i: usize) -> String {
    let lat = -80.0 + ((i * 7_919) % 16_000) as f64 / 100.0;
    let lon = -170.0 + ((i * 104_729) % 34_000) as f64 / 100.0;
    format!("{lat:+.6}{lon:+.6}")
}
