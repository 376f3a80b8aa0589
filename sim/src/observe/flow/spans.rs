//! Faults as spans of time, from the driver's records: a partition or hold
//! lasts until every pair it cut is healed or released, a crash or silent
//! death until the server restarts.

use std::collections::BTreeSet;

use super::Span;
use crate::observe::record::{Fault, Note, Record, What};

/// A span still open, with the (from, to) pairs it still cuts.
type Open = (Span, BTreeSet<(String, String)>);

pub(super) fn collect(records: &[Record]) -> Vec<Span> {
    let mut open: Vec<Open> = Vec::new();
    let mut spans = Vec::new();
    for r in records {
        let What::Driver(Note::Fault(fault)) = &r.what else {
            continue;
        };
        match fault {
            Fault::Partition { a, b, oneway } => {
                let what = if *oneway { "one-way partition" } else { "partition" };
                open.push(start(what, a, b, !oneway, r.at));
            }
            Fault::Hold { a, b } => open.push(start("hold", a, b, true, r.at)),
            Fault::Heal { a, b, oneway } => end(&mut open, &mut spans, a, b, !oneway, r.at, |what| {
                what == "partition" || what == "one-way partition"
            }),
            Fault::Release { a, b } => end(&mut open, &mut spans, a, b, true, r.at, |what| what == "hold"),
            Fault::Crash { server } | Fault::SilentDeath { server } | Fault::Pause { server } => {
                let what = match fault {
                    Fault::Crash { .. } => "crash",
                    Fault::Pause { .. } => "pause",
                    _ => "silent death",
                };
                let span = Span {
                    what,
                    servers: vec![server.clone()],
                    far: Vec::new(),
                    label: server.clone(),
                    from: r.at,
                    to: None,
                };
                open.push((span, BTreeSet::from([(server.clone(), server.clone())])));
            }
            Fault::Restart { server } | Fault::Resume { server } => {
                let ends = |what: &str| match fault {
                    Fault::Restart { .. } => what == "crash" || what == "silent death",
                    _ => what == "pause",
                };
                if let Some(i) = open
                    .iter()
                    .position(|(s, _)| ends(s.what) && s.servers == [server.clone()])
                {
                    let (mut span, _) = open.remove(i);
                    span.to = Some(r.at);
                    spans.push(span);
                }
            }
            Fault::Latency { .. } | Fault::Loss { .. } | Fault::Reset { .. } => {}
        }
    }
    spans.extend(open.into_iter().map(|(span, _)| span));
    spans.sort_by(|a, b| a.from.cmp(&b.from).then(a.label.cmp(&b.label)));
    spans
}

fn start(what: &'static str, a: &[String], b: &[String], both_ways: bool, at: std::time::Duration) -> Open {
    let mut pairs = BTreeSet::new();
    for x in a {
        for y in b {
            pairs.insert((x.clone(), y.clone()));
            if both_ways {
                pairs.insert((y.clone(), x.clone()));
            }
        }
    }
    let span = Span {
        what,
        servers: a.iter().chain(b).cloned().collect(),
        far: b.to_vec(),
        label: format!("{} / {}", a.join(","), b.join(",")),
        from: at,
        to: None,
    };
    (span, pairs)
}

fn end(
    open: &mut Vec<Open>,
    spans: &mut Vec<Span>,
    a: &[String],
    b: &[String],
    both_ways: bool,
    at: std::time::Duration,
    undoes: impl Fn(&str) -> bool,
) {
    let mut i = 0;
    while i < open.len() {
        if undoes(open[i].0.what) {
            let pairs = &mut open[i].1;
            for x in a {
                for y in b {
                    pairs.remove(&(x.clone(), y.clone()));
                    if both_ways {
                        pairs.remove(&(y.clone(), x.clone()));
                    }
                }
            }
            if pairs.is_empty() {
                let (mut span, _) = open.remove(i);
                span.to = Some(at);
                spans.push(span);
                continue;
            }
        }
        i += 1;
    }
}
