//! Judging what clients saw against what their steps expected, and
//! telling the book about every AT line a client was given.

use herd::protocol::{parse_client_line, ClientCommand};

use crate::checks::{check_places, parse_at};
use crate::clients::{Outcome, Slot};
use crate::run::{Driver, Failure};
use crate::scenario::PlacesExpect;

/// A client whose reply the driver has yet to judge.
pub(crate) struct Pending {
    pub(crate) place: String,
    pub(crate) who: String,
    pub(crate) server: String,
    pub(crate) sent: Vec<u8>,
    pub(crate) slot: Slot,
    pub(crate) expect: Expect,
    /// Simulated time since the POSIX epoch when the client started, ns.
    pub(crate) sent_ns: i128,
    /// The server's crash count when the client started.
    pub(crate) crashes: u32,
}

pub(crate) enum Expect {
    /// From a `client` step.
    Step {
        exact: Option<String>,
        pattern: Option<regex::Regex>,
        places: Option<PlacesExpect>,
    },
    /// One of `many_clients`: an AT reply from `server` echoing the line.
    At,
}

impl Driver<'_> {
    /// Judges every client that has finished, in the order they started.
    pub(crate) fn judge_clients(&mut self) -> Result<(), Failure> {
        let pending = std::mem::take(&mut self.pending);
        let mut result = Ok(());
        for p in pending {
            let outcome = p.slot.borrow().clone();
            if outcome == Outcome::Pending || result.is_err() {
                self.pending.push(p);
                continue;
            }
            let seen = match &outcome {
                Outcome::Reply(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Outcome::Failed(e) => format!("error: {e}"),
                Outcome::TimedOut(bytes) => format!("timed out after: {}", String::from_utf8_lossy(bytes)),
                Outcome::Pending => unreachable!(),
            };
            // The trace shows the bytes as received, escaped, not the
            // lossy text the expectations are matched against.
            let shown = match &outcome {
                Outcome::Reply(bytes) => shorten(bytes),
                Outcome::TimedOut(bytes) => format!("timed out after: {}", shorten(bytes)),
                _ => shorten(seen.as_bytes()),
            };
            if let Outcome::Reply(bytes) | Outcome::TimedOut(bytes) = &outcome {
                self.book.note_reply(&String::from_utf8_lossy(bytes));
            }
            let now_ns = self.sim.since_epoch().as_nanos() as i128;
            if let Err(why) = check_skew(&p.sent, &p.server, &seen, p.sent_ns, now_ns) {
                self.trace.push(self.now(), &p.who, "reply", &p.server, &shown);
                result = Err(Self::safety(
                    &p.place,
                    format!("{} sent \"{}\" to {}: {why}", p.who, shorten(&p.sent), p.server),
                ));
                continue;
            }
            let verdict = match &p.expect {
                Expect::Step {
                    exact,
                    pattern,
                    places,
                } => {
                    self.trace.push(self.now(), &p.who, "reply", &p.server, &shown);
                    judge_step(&seen, exact, pattern, places)
                }
                // The server crashed before it could answer: the update was
                // never acknowledged, so nothing was promised.
                Expect::At
                    if (seen.is_empty() || seen.starts_with("error: "))
                        && self.crashes.get(&p.server).copied().unwrap_or(0) != p.crashes =>
                {
                    Ok(())
                }
                Expect::At => {
                    let sent = String::from_utf8_lossy(&p.sent);
                    let fields = sent.strip_prefix("IAMAT ").unwrap_or(&sent);
                    let want = format!("AT {} ", p.server);
                    if seen.starts_with(&want) && seen.trim_end().ends_with(fields) {
                        Ok(())
                    } else {
                        Err(format!("want an AT reply from {} for {sent:?}", p.server))
                    }
                }
            };
            if let Err(why) = verdict {
                result = Err(Self::safety(
                    &p.place,
                    format!(
                        "{} sent \"{}\" to {}: {why}; saw \"{}\"",
                        p.who,
                        shorten(&p.sent),
                        p.server,
                        herd::protocol::escape(seen.as_bytes())
                    ),
                ));
            }
        }
        result
    }
}

/// SPEC §2: an AT reply's skew is the server's receive time minus the
/// client's time, exactly. The receive time lies between the client's
/// start and now, and simulated time moves in whole ticks of 1 ms, so
/// `skew + time` must be a whole number of ms in that window.
fn check_skew(sent: &[u8], server: &str, reply: &str, from_ns: i128, to_ns: i128) -> Result<(), String> {
    const TICK_NS: i128 = 1_000_000;
    let iamats: Vec<(String, String, String)> = sent
        .split(|&b| b == b'\n')
        .filter_map(
            |line| match parse_client_line(line.strip_suffix(b"\r").unwrap_or(line)) {
                Ok(ClientCommand::IAmAt {
                    client,
                    location,
                    time,
                }) => Some((client, location.as_str().to_string(), time.as_str().to_string())),
                _ => None,
            },
        )
        .collect();
    for line in reply.lines().filter(|l| l.starts_with("AT ")) {
        let Some(update) = parse_at(line) else {
            continue;
        };
        let echoed = (
            update.client.clone(),
            update.location.as_str().to_string(),
            update.time.as_str().to_string(),
        );
        if update.origin != server || !iamats.contains(&echoed) {
            continue;
        }
        let received = update.skew.0 + update.time.nanos();
        if received % TICK_NS != 0 || received < from_ns || received > to_ns {
            return Err(format!(
                "skew {} in {line:?} gives a receive time of {}, but the server's receive time \
                 was a whole ms between {} and {}: the skew must be receive time minus client time, exactly",
                update.skew,
                nanos_text(received),
                nanos_text(from_ns),
                nanos_text(to_ns)
            ));
        }
    }
    Ok(())
}

fn nanos_text(ns: i128) -> String {
    format!(
        "{}.{:09}",
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000)
    )
}

/// Whether any line a client sent is a valid IAMAT.
pub(crate) fn is_iamat(sent: &[u8]) -> bool {
    sent.split(|&b| b == b'\n').any(|line| {
        matches!(
            parse_client_line(line.strip_suffix(b"\r").unwrap_or(line)),
            Ok(ClientCommand::IAmAt { .. })
        )
    })
}

fn judge_step(
    seen: &str,
    exact: &Option<String>,
    pattern: &Option<regex::Regex>,
    places: &Option<PlacesExpect>,
) -> Result<(), String> {
    if let Some(exact) = exact {
        if seen.trim_end_matches('\n') != exact.trim_end_matches('\n') {
            return Err(format!("want {exact:?}"));
        }
    }
    if let Some(pattern) = pattern {
        if !pattern.is_match(seen.trim_end_matches('\n')) {
            return Err(format!("want a match for /{}/", pattern.as_str()));
        }
    }
    if let Some(places) = places {
        check_places(seen, places)?;
    }
    Ok(())
}

/// A reply for the trace: one line, long ones cut.
pub(crate) fn shorten(bytes: &[u8]) -> String {
    crate::trace::shorten(&herd::protocol::escape(bytes))
}
