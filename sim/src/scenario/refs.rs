//! Names one step takes from another, checked over the whole timeline
//! before the run: every `{ID.time}` names a client step that runs before
//! it, ids are not given twice, and a `holds` step asks about a client some
//! step talks about.

use std::collections::{BTreeMap, BTreeSet};

use super::check::decode_hex;
use super::names::did_you_mean;
use super::steps::{Located, Read};
use super::Action;

/// `timeline`: every action in the order it runs, with the index in
/// `reads` of the step it comes from.
pub(super) fn check(reads: &[Read], timeline: &[(usize, Action)]) -> Result<(), Located> {
    ids(reads, timeline)?;
    clients(reads, timeline)
}

fn ids(reads: &[Read], timeline: &[(usize, Action)]) -> Result<(), Located> {
    // Each id: the first position it is sent at, and its step.
    let mut first: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (position, (r, action)) in timeline.iter().enumerate() {
        let Action::Client { id: Some(id), .. } = action else {
            continue;
        };
        match first.get(id.as_str()) {
            Some(&(_, other)) if other != *r => {
                let number = reads[other].source.number;
                let why = format!("{id:?} is already the id of step {number}");
                return Err(reads[*r].source.at_value("id", None, why));
            }
            Some(_) => {}
            None => {
                first.insert(id, (position, *r));
            }
        }
    }
    for (position, (r, action)) in timeline.iter().enumerate() {
        let source = &reads[*r].source;
        for (field, span, id) in &source.refs {
            let why = match first.get(id.as_str()) {
                None => format!(
                    "{{{id}.time}}: no client step has id = {id:?}{}",
                    did_you_mean(id, first.keys().copied())
                ),
                Some(&(at, _)) if at >= position => {
                    let (_, defined) = &timeline[at];
                    format!(
                        "{{{id}.time}}: the step with id = {id:?} (step {}) first sends at {} ms, \
                         not before this step at {} ms",
                        reads[timeline[at].0].source.number,
                        defined.at_ms(),
                        action.at_ms()
                    )
                }
                Some(_) => continue,
            };
            let mut e = source.at_value(field, None, why);
            e.span = span.clone();
            return Err(e);
        }
    }
    Ok(())
}

/// A `holds` step's client must be one some step sends a line about (a
/// client that nothing names holds nothing anywhere, and a misspelt name
/// would make `none = true` pass by itself).
fn clients(reads: &[Read], timeline: &[(usize, Action)]) -> Result<(), Located> {
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut iamat: BTreeSet<String> = BTreeSet::new();
    for (_, action) in timeline {
        match action {
            Action::Client { send, hex, .. } => {
                let text = match hex {
                    true => String::from_utf8_lossy(&decode_hex(send).unwrap_or_default()).into_owned(),
                    false => send.clone(),
                };
                for line in text.lines() {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    if let ["IAMAT", client, ..] = words.as_slice() {
                        iamat.insert(client.to_string());
                    }
                    named.extend(words.iter().map(|w| w.to_string()));
                }
            }
            Action::ManyClients { count, prefix, .. } => {
                iamat.extend((0..*count).map(|i| format!("{prefix}{i:04}")));
            }
            _ => {}
        }
    }
    for (r, action) in timeline {
        let Action::Holds { client, .. } = action else {
            continue;
        };
        if named.contains(client) || iamat.contains(client) {
            continue;
        }
        let hint = did_you_mean(client, iamat.iter().map(String::as_str));
        let listed: Vec<&str> = iamat.iter().map(String::as_str).take(8).collect();
        let why = format!(
            "no step sends anything about client {client:?}{hint} (IAMAT clients: {})",
            if listed.is_empty() {
                "none".to_string()
            } else {
                listed.join(", ")
            }
        );
        return Err(reads[*r].source.at_value("client", None, why));
    }
    Ok(())
}
