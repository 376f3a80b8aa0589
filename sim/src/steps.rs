//! The timeline's actions: client steps, faults, Places changes and
//! `holds` checks, applied by the driver between simulation ticks.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::clients::{self, Outcome, Slot};
use crate::judge::{shorten, Expect, Pending};
use crate::places::Behaviour;
use crate::run::{Driver, Failure, CLIENT_TIMEOUT_MS};
use crate::scenario::{Action, PlacesMode};

impl Driver<'_> {
    pub(crate) fn apply(&mut self, action: &Action, place: &str) -> Result<(), Failure> {
        match action {
            Action::Client {
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
                ..
            } => {
                let now = self.now_text();
                let text = send.replace("{now}", &now);
                let one = if *hex {
                    crate::scenario::decode_hex(&text).map_err(|e| Self::safety(place, e))?
                } else {
                    text.into_bytes()
                };
                let mut bytes = one.repeat(repeat.unwrap_or(1));
                if !raw {
                    bytes.push(b'\n');
                }
                let exact = expect.as_ref().map(|e| e.replace("{now}", &now));
                let pattern = expect_match
                    .as_ref()
                    .map(|p| regex::Regex::new(&p.replace("{now}", &regex::escape(&now))))
                    .transpose()
                    .map_err(|e| Self::safety(place, format!("expect_match: {e}")))?;
                let who = self.host_name(client);
                self.trace
                    .push(self.now(), &who, "connect", server, &shorten(&bytes));
                self.book.note_sent(server, &bytes);
                let slot: Slot = Rc::new(RefCell::new(Outcome::Pending));
                let timeout = Duration::from_millis(timeout_ms.unwrap_or(CLIENT_TIMEOUT_MS));
                self.sim.client(
                    who.as_str(),
                    clients::one_shot(
                        server.clone(),
                        self.port(server),
                        bytes.clone(),
                        *half_close,
                        timeout,
                        slot.clone(),
                    ),
                );
                let sent_ns = self.sim.since_epoch().as_nanos() as i128;
                let crashes = self.crashes.get(server.as_str()).copied().unwrap_or(0);
                self.pending.push(Pending {
                    crashes,
                    sent_ns,
                    place: place.to_string(),
                    who,
                    server: server.clone(),
                    sent: bytes,
                    slot,
                    expect: Expect::Step {
                        exact,
                        pattern,
                        places: expect_places.clone(),
                    },
                });
            }
            Action::ManyClients {
                count,
                prefix,
                servers,
                ..
            } => {
                let servers: Vec<String> = if servers.is_empty() {
                    self.scenario
                        .herd
                        .servers
                        .iter()
                        .map(|s| s.name.clone())
                        .collect()
                } else {
                    servers.clone()
                };
                self.note(
                    "many_clients",
                    "",
                    &format!("{count} clients {prefix}NNNN over {}", servers.join(",")),
                );
                let now = self.now_text();
                let mut per_server: BTreeMap<&str, (Vec<String>, Vec<Slot>)> = BTreeMap::new();
                for i in 0..*count {
                    let server = &servers[i % servers.len()];
                    let line = format!("IAMAT {prefix}{i:04} {} {now}", location_for(i));
                    self.book.note_sent(server, line.as_bytes());
                    let slot: Slot = Rc::new(RefCell::new(Outcome::Pending));
                    let crashes = self.crashes.get(server.as_str()).copied().unwrap_or(0);
                    self.pending.push(Pending {
                        crashes,
                        sent_ns: self.sim.since_epoch().as_nanos() as i128,
                        place: place.to_string(),
                        who: format!("{prefix}{i:04}"),
                        server: server.clone(),
                        sent: line.clone().into_bytes(),
                        slot: slot.clone(),
                        expect: Expect::At,
                    });
                    let entry = per_server.entry(server.as_str()).or_default();
                    entry.0.push(line);
                    entry.1.push(slot);
                }
                for (server, (lines, slots)) in per_server {
                    let who = self.host_name(&format!("{prefix}-{server}"));
                    let timeout = Duration::from_millis(CLIENT_TIMEOUT_MS);
                    self.sim.client(
                        who.as_str(),
                        clients::many(server.to_string(), self.port(server), lines, timeout, slots),
                    );
                }
            }
            Action::Partition { a, b, oneway, .. } => {
                self.note(
                    if *oneway { "partition>" } else { "partition" },
                    "",
                    &groups(a, b),
                );
                for_pairs(a, b, |x, y| {
                    if *oneway {
                        self.sim.partition_oneway(x, y)
                    } else {
                        self.sim.partition(x, y)
                    }
                });
            }
            Action::Heal { a, b, oneway, .. } => {
                self.note(if *oneway { "heal>" } else { "heal" }, "", &groups(a, b));
                for_pairs(a, b, |x, y| {
                    if *oneway {
                        self.sim.repair_oneway(x, y)
                    } else {
                        self.sim.repair(x, y)
                    }
                });
            }
            Action::Hold { a, b, .. } => {
                self.note("hold", "", &groups(a, b));
                for_pairs(a, b, |x, y| self.sim.hold(x, y));
            }
            Action::Release { a, b, .. } => {
                self.note("release", "", &groups(a, b));
                for_pairs(a, b, |x, y| self.sim.release(x, y));
            }
            Action::Latency { a, b, ms, .. } => {
                self.note("latency", "", &format!("{} {ms} ms", groups(a, b)));
                for_pairs(a, b, |x, y| {
                    self.sim.set_link_latency(x, y, Duration::from_millis(*ms))
                });
            }
            Action::Loss { a, b, rate, .. } => {
                self.note("loss", "", &format!("{} {rate}", groups(a, b)));
                let sim = &mut self.sim;
                for x in a {
                    for y in b {
                        sim.set_link_fail_rate(x.as_str(), y.as_str(), *rate);
                    }
                }
            }
            Action::Crash { server, .. } => {
                self.note("crash", server, "");
                self.sim.crash(server.as_str());
                self.live.remove(server);
                *self.crashes.entry(server.clone()).or_default() += 1;
            }
            Action::Restart { server, .. } => {
                self.note("restart", server, "");
                self.book.forget(server);
                self.sim.bounce(server.as_str());
                self.live.insert(server.clone());
            }
            Action::SilentDeath { server, .. } => {
                self.note("silent_death", server, "");
                // The partition swallows the FINs the crash sends, so the
                // neighbours are left with links that just go quiet.
                let others: Vec<String> = self
                    .scenario
                    .herd
                    .servers
                    .iter()
                    .filter(|s| &s.name != server)
                    .map(|s| s.name.clone())
                    .collect();
                for other in &others {
                    self.sim.partition(server.as_str(), other.as_str());
                }
                self.sim.crash(server.as_str());
                for other in &others {
                    self.sim.repair(server.as_str(), other.as_str());
                }
                self.live.remove(server);
                *self.crashes.entry(server.clone()).or_default() += 1;
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
                    PlacesMode::Status => Behaviour::Status(status.clone().unwrap_or_default()),
                    PlacesMode::Http => Behaviour::Http(code.unwrap_or(500)),
                };
                self.note("places", "", &format!("{behaviour:?}"));
                self.places.set(behaviour);
            }
            Action::Holds {
                server,
                client,
                origin,
                location,
                time,
                none,
                ..
            } => self.check_holds(place, server, client, origin, location, time, *none)?,
            Action::Converged { .. } => unreachable!("the drive loop handles convergence"),
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn check_holds(
        &self,
        place: &str,
        server: &str,
        client: &str,
        origin: &Option<String>,
        location: &Option<String>,
        time: &Option<String>,
        none: bool,
    ) -> Result<(), Failure> {
        let held = if self.live.contains(server) {
            self.states.borrow().get(server).and_then(|s| s.get(client))
        } else {
            return Err(Self::safety(place, format!("{server} is not running")));
        };
        let shown = held.as_ref().map_or("nothing".to_string(), |u| u.to_string());
        self.note("holds", server, &format!("{client}: {shown}"));
        let wrong =
            |what: &str| Self::safety(place, format!("{server} holds {shown} for {client}; want {what}"));
        match held {
            None if none => Ok(()),
            None => Err(wrong("an update")),
            Some(_) if none => Err(wrong("nothing")),
            Some(update) => {
                if origin.as_ref().is_some_and(|o| *o != update.origin) {
                    return Err(wrong(&format!("origin {}", origin.as_deref().unwrap_or(""))));
                }
                if location.as_ref().is_some_and(|l| l != update.location.as_str()) {
                    return Err(wrong(&format!("location {}", location.as_deref().unwrap_or(""))));
                }
                if time.as_ref().is_some_and(|t| t != update.time.as_str()) {
                    return Err(wrong(&format!("time {}", time.as_deref().unwrap_or(""))));
                }
                Ok(())
            }
        }
    }
}

fn groups(a: &[String], b: &[String]) -> String {
    format!("{} / {}", a.join(","), b.join(","))
}

fn for_pairs(a: &[String], b: &[String], mut f: impl FnMut(&str, &str)) {
    for x in a {
        for y in b {
            f(x, y);
        }
    }
}

/// A spread of valid locations for generated clients.
fn location_for(i: usize) -> String {
    let lat = -80.0 + ((i * 7_919) % 16_000) as f64 / 100.0;
    let lon = -170.0 + ((i * 104_729) % 34_000) as f64 / 100.0;
    format!("{lat:+.6}{lon:+.6}")
}
