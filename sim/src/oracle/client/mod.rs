//! The outside view: checks on what a client can see, each a function of
//! what it sent, what came back and when (an `Exchange`). A harness that
//! drives real processes has exactly these observations, so it calls the
//! same functions. Replies to one exchange are checked here; reads after
//! an acknowledgement and polls after convergence in `reads.rs`.

mod limits;
mod reads;

use serde_json::Value;

pub use self::limits::{check_key, check_refused, Refuses};
pub use self::reads::{check_polls, check_read};
use super::entry::Entry;
use super::text::{fields, iamat, lines, skew_ns, time_ns, whatsat, Iamat};
use super::violation::{Exchanged, Violation};

/// One connection as a client saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The client's label.
    pub client: String,
    pub server: String,
    pub sent: Vec<u8>,
    /// Everything that came back (what had come, if the client gave up).
    pub reply: Vec<u8>,
    /// POSIX time in ns when the client started connecting.
    pub started_ns: i128,
    /// POSIX time in ns when the reply was complete or the client gave up.
    pub ended_ns: i128,
}

/// Bytes for a message: printable ASCII, the rest escaped, long ones cut.
pub fn shown(bytes: &[u8]) -> String {
    crate::observe::trace::shorten(&crate::observe::trace::escaped(bytes))
}

impl Exchange {
    pub fn by(&self) -> Exchanged {
        Exchanged {
            client: self.client.clone(),
            sent: shown(&self.sent),
            server: self.server.clone(),
        }
    }

    /// The IAMATs sent.
    pub fn iamats(&self) -> Vec<Iamat> {
        lines(&self.sent).filter_map(iamat).collect()
    }

    /// The AT lines of the reply that echo an IAMAT sent and name the
    /// server asked: the updates this exchange acknowledged.
    pub fn acks(&self) -> Vec<Entry> {
        let sent = self.iamats();
        self.reply_lines()
            .filter_map(|l| Entry::from_at_line(&l))
            .filter(|e| e.origin == self.server && sent.iter().any(|i| echoes(e, i)))
            .collect()
    }

    fn reply_lines(&self) -> impl Iterator<Item = String> + '_ {
        lines(&self.reply).map(|l| String::from_utf8_lossy(l).into_owned())
    }
}

/// Whether an AT line's client, location and time are those of an IAMAT sent.
pub(super) fn sent_as(sent: &[Iamat], client: &str, location: &str, time: &str) -> bool {
    sent.iter()
        .any(|i| i.client == client && i.location == location && i.time == time)
}

fn echoes(entry: &Entry, iamat: &Iamat) -> bool {
    entry.client == iamat.client && entry.location == iamat.location && entry.time == iamat.time
}

/// SPEC §2: an AT reply to an IAMAT names the server asked, copies the
/// client's fields, and carries a skew with one sign and nine digits that
/// is exactly the server's receive time minus the client's time. The
/// receive time lies between the client's start and its end, on a whole
/// `tick_ns` (simulated time moves in ticks; a real harness passes 1).
pub fn check_acks(ex: &Exchange, tick_ns: i128) -> Result<(), Violation> {
    check_acks_within(ex, tick_ns, 0)
}

/// `check_acks` for a server whose clock is not the client's own: the
/// receive time may lie up to `tolerance_ns` outside the client's start
/// and end.
pub fn check_acks_within(ex: &Exchange, tick_ns: i128, tolerance_ns: i128) -> Result<(), Violation> {
    let sent = ex.iamats();
    let asked_whatsat = lines(&ex.sent).any(|l| whatsat(l).is_some());
    for line in ex.reply_lines() {
        let f = fields(&line);
        let ["AT", origin, skew, client, location, time] = f.as_slice() else {
            continue;
        };
        if !sent_as(&sent, client, location, time) {
            continue;
        }
        let malformed = |why| Violation::MalformedAt {
            by: ex.by(),
            line: line.clone(),
            why,
        };
        if *origin != ex.server {
            // A WHATSAT's answer names the update's origin instead.
            if asked_whatsat {
                continue;
            }
            return Err(malformed("the AT line does not name the server asked"));
        }
        let skew_ns =
            skew_ns(skew).ok_or_else(|| malformed("the skew is not one sign, seconds and nine digits"))?;
        let received = skew_ns + time_ns(time).unwrap_or_default();
        let (from_ns, to_ns) = (ex.started_ns - tolerance_ns, ex.ended_ns + tolerance_ns);
        if received % tick_ns != 0 || received < from_ns || received > to_ns {
            return Err(Violation::Skew {
                by: ex.by(),
                line: line.clone(),
                skew: skew.to_string(),
                received_ns: received,
                from_ns,
                to_ns,
            });
        }
    }
    Ok(())
}

/// The reply acknowledges the one IAMAT sent: its first line is the AT line.
pub fn expect_ack(ex: &Exchange) -> Result<Entry, Violation> {
    let first = ex.reply_lines().next();
    let ack = first.as_deref().and_then(Entry::from_at_line);
    match (ack, ex.iamats().first()) {
        (Some(entry), Some(sent)) if entry.origin == ex.server && echoes(&entry, sent) => Ok(entry),
        _ => Err(Violation::WrongReply {
            by: ex.by(),
            want: format!("want an AT reply from {} echoing the IAMAT", ex.server),
            seen: shown(&ex.reply),
        }),
    }
}

/// SPEC §3 and docs/protocol.md: a client's `HERD AT` line plants nothing
/// and is answered `? ` and the line as received.
pub fn check_refusal(ex: &Exchange) -> Result<(), Violation> {
    let mut sent = lines(&ex.sent);
    let (Some(line), None) = (sent.next(), sent.next()) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(line);
    if !matches!(fields(&text).as_slice(), ["HERD", "AT", ..]) {
        return Ok(());
    }
    let mut want = b"? ".to_vec();
    want.extend_from_slice(line);
    want.push(b'\n');
    if ex.reply == want {
        Ok(())
    } else {
        Err(Violation::Planted {
            by: ex.by(),
            seen: shown(&ex.reply),
        })
    }
}

/// SPEC §2: a WHATSAT answered with an AT line is followed by the Places
/// JSON (runs of newlines squeezed to one, at most `<bound>` results) and
/// an empty line.
pub fn check_whatsat(ex: &Exchange) -> Result<(), Violation> {
    let mut sent = lines(&ex.sent);
    let (Some(Some(asked)), None) = (sent.next().map(whatsat), sent.next()) else {
        return Ok(());
    };
    if !ex.reply.starts_with(b"AT ") {
        return Ok(());
    }
    let reply = String::from_utf8_lossy(&ex.reply);
    let bad = |why: String| Violation::WhatsatShape { by: ex.by(), why };
    let json = json_part(&reply).map_err(bad)?;
    let results = json.get("results").and_then(Value::as_array).map_or(0, Vec::len);
    match asked.bound.parse::<usize>() {
        Ok(bound) if results > bound => Err(bad(format!("{results} results, more than the bound {bound}"))),
        _ => Ok(()),
    }
}

/// Every check of one finished exchange that needs nothing but the
/// exchange: its AT replies (`check_acks_within`), a refused `HERD AT`, and
/// a WHATSAT reply's shape.
pub fn check_exchange(ex: &Exchange, tick_ns: i128, tolerance_ns: i128) -> Result<(), Violation> {
    check_acks_within(ex, tick_ns, tolerance_ns)?;
    check_refusal(ex)?;
    check_whatsat(ex)
}

/// A WHATSAT reply in its shape (an AT line, the JSON, an empty line),
/// whatever Places said: what a step's `expect_places` can still ask of a
/// herd whose Places answers the harness does not control.
pub fn check_places_shape(ex: &Exchange, seen: &str) -> Result<(), Violation> {
    json_part(seen).map(drop).map_err(|why| Violation::WrongReply {
        by: ex.by(),
        want: why,
        seen: shown(seen.as_bytes()),
    })
}

/// The JSON after a reply's AT line, if the reply has the WHATSAT shape.
fn json_part(reply: &str) -> Result<Value, String> {
    let Some((first, rest)) = reply.split_once('\n') else {
        return Err("no JSON after the AT line".into());
    };
    if Entry::from_at_line(first).is_none() {
        return Err(format!("first line is not an AT line: {first:?}"));
    }
    let Some(body) = rest.strip_suffix("\n\n") else {
        return Err("reply does not end with an empty line".into());
    };
    if body.contains("\n\n") || body.ends_with('\n') {
        return Err("a run of newlines in the JSON was not squeezed to one".into());
    }
    serde_json::from_str(body).map_err(|e| format!("JSON does not parse: {e}"))
}

/// What a scenario step expects of the reply: `exact` text, a `pattern`,
/// and of a WHATSAT's Places answer, its `status` and number of `results`.
#[derive(Default)]
pub struct Expected<'a> {
    pub exact: Option<&'a str>,
    pub pattern: Option<&'a regex::Regex>,
    pub status: Option<&'a str>,
    pub results: Option<usize>,
}

/// `seen`: the reply as text (invalid UTF-8 as U+FFFD), or what became of
/// the exchange (`timed out after: ...`, `error: ...`).
pub fn check_expected(ex: &Exchange, seen: &str, expected: &Expected) -> Result<(), Violation> {
    let wrong = |want: String| Violation::WrongReply {
        by: ex.by(),
        want,
        seen: shown(seen.as_bytes()),
    };
    let trimmed = seen.trim_end_matches('\n');
    if let Some(exact) = expected.exact {
        if trimmed != exact.trim_end_matches('\n') {
            return Err(wrong(format!("want {exact:?}")));
        }
    }
    if let Some(pattern) = expected.pattern {
        if !pattern.is_match(trimmed) {
            return Err(wrong(format!("want a match for /{}/", pattern.as_str())));
        }
    }
    if expected.status.is_none() && expected.results.is_none() {
        return Ok(());
    }
    let json = json_part(seen).map_err(wrong)?;
    if let Some(status) = expected.status {
        let got = json.get("status").and_then(Value::as_str).unwrap_or("<none>");
        if got != status {
            return Err(wrong(format!("status {got:?}, want {status:?}")));
        }
    }
    if let Some(results) = expected.results {
        let got = json.get("results").and_then(Value::as_array).map_or(0, Vec::len);
        if got != results {
            return Err(wrong(format!("{got} results, want {results}")));
        }
    }
    Ok(())
}
