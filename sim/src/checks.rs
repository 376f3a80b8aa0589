//! What the driver knows about the run (every IAMAT sent, every AT reply)
//! and the checks built on it: the invariants, convergence, and the
//! expectations on replies.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use herd::protocol::{parse_client_line, ClientCommand, PeerMessage, Update};
use herd::server::ServerState;
use serde_json::Value;

use crate::scenario::PlacesExpect;
use crate::trace::Counts;

/// (server, client, location, time): what identifies an IAMAT a client sent.
type SentKey = (String, String, String, String);

/// The `SentKey` of the IAMAT an update claims to come from.
fn sent_key(update: &Update) -> SentKey {
    (
        update.origin.clone(),
        update.client.clone(),
        update.location.as_str().to_string(),
        update.time.as_str().to_string(),
    )
}

/// The running servers' states, by name (only live servers are here).
pub type States = BTreeMap<String, Arc<ServerState>>;

#[derive(Default)]
pub struct Book {
    /// (server, client, location, time) of every IAMAT sent.
    sent: BTreeSet<SentKey>,
    /// Per client, the newest update a client was told about in an AT reply.
    newest: BTreeMap<String, Update>,
    /// Per server and client, the update the server held when last looked at.
    seen: BTreeMap<String, BTreeMap<String, Update>>,
    /// Valid IAMAT lines sent, repeats included.
    iamats: u64,
    /// Servers restarted so far.
    restarts: u64,
    /// Radii (metres, as Places must get them) of the WHATSATs sent that
    /// no Places request has used yet, with their counts.
    radii_m: BTreeMap<String, u64>,
}

impl Book {
    /// Notes the valid IAMATs among the lines a client sent to `server`.
    pub fn note_sent(&mut self, server: &str, bytes: &[u8]) {
        for line in bytes.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let command = parse_client_line(line);
            if let Ok(ClientCommand::WhatsAt { radius, .. }) = &command {
                *self.radii_m.entry(radius.metres_text()).or_default() += 1;
            }
            if let Ok(ClientCommand::IAmAt {
                client,
                location,
                time,
            }) = command
            {
                self.iamats += 1;
                self.sent.insert((
                    server.to_string(),
                    client,
                    location.as_str().to_string(),
                    time.as_str().to_string(),
                ));
            }
        }
    }

    /// Notes every AT line of a reply: the client now knows that location,
    /// so the herd must converge on it (or on something newer).
    pub fn note_reply(&mut self, reply: &str) {
        for line in reply.lines().filter(|l| l.starts_with("AT ")) {
            self.note_at_line(line);
        }
    }

    fn note_at_line(&mut self, reply_line: &str) {
        let Some(update) = parse_at(reply_line) else {
            return;
        };
        let key = sent_key(&update);
        // An AT line for something no client sent is the invariant
        // checker's business, not convergence's.
        if !self.sent.contains(&key) {
            return;
        }
        match self.newest.get(&update.client) {
            Some(held) if held.precedence(&update).is_ge() => {}
            _ => {
                self.newest.insert(update.client.clone(), update);
            }
        }
    }

    pub fn clients_told(&self) -> usize {
        self.newest.len()
    }

    /// A restarted server starts empty; its history starts again too.
    pub fn forget(&mut self, server: &str) {
        self.seen.remove(server);
        self.restarts += 1;
    }

    /// Every Places request must carry the radius of a WHATSAT some client
    /// sent, in metres (km x 1000): `requested` are the radii the Places
    /// stand-in saw since the last call.
    pub fn check_radii(&mut self, requested: Vec<String>) -> Result<(), String> {
        for radius in requested {
            match self.radii_m.get_mut(&radius) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    let asked: Vec<&str> = self.radii_m.keys().map(String::as_str).collect();
                    return Err(format!(
                        "a Places request asked for radius {radius} m, which no WHATSAT asked for \
                         (WHATSAT radii in metres: {})",
                        asked.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// Floods end (SPEC §3, termination): a server forwards an update only
    /// when it changed its store, to at most each of its other neighbours,
    /// and a catch-up dump holds at most one update per client. So each
    /// server incarnation (`servers` plus restarts) sends at most
    /// `iamats x (servers - 1)` flooded updates, and each catch-up dump at
    /// most `iamats`; more means updates circulate.
    pub fn check_flood(&self, counts: Counts, servers: usize) -> Result<(), String> {
        let servers = servers as u64;
        let incarnations = servers + self.restarts;
        let bound = self.iamats * (servers.saturating_sub(1) * incarnations + counts.feed_starts);
        if counts.update_sends > bound {
            return Err(format!(
                "flood cost: {} HERD AT lines sent between servers for {} client updates, \
                 at most {bound} possible without a forwarding loop ({} catch-up dumps, {} restarts)",
                counts.update_sends, self.iamats, counts.feed_starts, self.restarts
            ));
        }
        Ok(())
    }

    /// The safety invariants, over every live server's store.
    pub fn check_invariants(&mut self, states: &States) -> Result<(), String> {
        for (name, state) in states {
            let seen = self.seen.entry(name.clone()).or_default();
            for update in state.snapshot() {
                let before = seen.get(&update.client);
                // Unchanged since the last look: already checked.
                if before == Some(&update) {
                    continue;
                }
                if let Some(before) = before {
                    if update.precedence(before).is_lt() {
                        return Err(format!(
                            "{name} went back in time for {}: held {before}, now {update}",
                            update.client
                        ));
                    }
                }
                let key = sent_key(&update);
                if !self.sent.contains(&key) {
                    return Err(format!("{name} holds an update no client sent: {update}"));
                }
                seen.insert(update.client.clone(), update);
            }
        }
        Ok(())
    }

    /// Ok when every live server holds, for every client that got an AT
    /// reply, that update or a newer one; else what is still missing.
    pub fn check_converged(&self, states: &States) -> Result<(), String> {
        let mut missing = Vec::new();
        let mut count = 0usize;
        for (name, state) in states {
            for (client, newest) in &self.newest {
                let ok = state
                    .get(client)
                    .is_some_and(|held| held.precedence(newest).is_ge());
                if !ok {
                    count += 1;
                    if missing.len() < 5 {
                        let held = state.get(client).map_or("nothing".to_string(), |u| u.to_string());
                        missing.push(format!("{name} holds {held} for {client}, want {newest}"));
                    }
                }
            }
        }
        if count == 0 {
            Ok(())
        } else {
            Err(format!(
                "{count} (server, client) pairs behind, e.g. {}",
                missing.join("; ")
            ))
        }
    }
}

/// An AT line as an update.
pub fn parse_at(line: &str) -> Option<Update> {
    let fields = line.trim_end().strip_prefix("AT ")?;
    match PeerMessage::parse(format!("HERD AT - {fields}").as_bytes()) {
        Ok(PeerMessage::Update { update, .. }) => Some(update),
        _ => None,
    }
}

/// Checks a WHATSAT reply's JSON part.
pub fn check_places(reply: &str, expect: &PlacesExpect) -> Result<(), String> {
    let Some((first, rest)) = reply.split_once('\n') else {
        return Err("no JSON after the AT line".into());
    };
    if !first.starts_with("AT ") {
        return Err(format!("first line is not an AT line: {first:?}"));
    }
    if !rest.ends_with("\n\n") {
        return Err("reply does not end with an empty line".into());
    }
    let json: Value = serde_json::from_str(rest).map_err(|e| format!("JSON does not parse: {e}"))?;
    if let Some(status) = &expect.status {
        let got = json.get("status").and_then(Value::as_str).unwrap_or("<none>");
        if got != status {
            return Err(format!("status {got:?}, want {status:?}"));
        }
    }
    if let Some(results) = expect.results {
        let got = json.get("results").and_then(Value::as_array).map_or(0, Vec::len);
        if got != results {
            return Err(format!("{got} results, want {results}"));
        }
    }
    Ok(())
}
