//! The order of the time lines. Servers are ordered so that the messages
//! between them cross as few columns as they can (every order is tried for
//! a herd of up to eight servers; larger herds are improved from herd order
//! by swaps), and each client host stands right of the server it talks to
//! most, so that most arrows stay short. Ties keep herd order.

use std::collections::BTreeMap;

use crate::observe::flow::{Flow, Kind, Message};

/// Herds up to this size have every order of their servers tried.
const EVERY_ORDER_UP_TO: usize = 8;

/// One time line, left to right.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Column<'f> {
    pub host: &'f str,
    pub server: bool,
}

/// The columns of a diagram of `flow` showing `messages`.
pub(super) fn order<'f>(flow: &'f Flow, messages: &[&Message]) -> Vec<Column<'f>> {
    let mut weight: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for m in messages.iter().filter(|m| m.kind != Kind::Heartbeat) {
        let pair = if m.from <= m.to {
            (m.from.as_str(), m.to.as_str())
        } else {
            (m.to.as_str(), m.from.as_str())
        };
        *weight.entry(pair).or_default() += 1;
    }
    let between = |a: &str, b: &str| {
        let pair = if a <= b { (a, b) } else { (b, a) };
        weight.get(&pair).copied().unwrap_or(0)
    };
    let n = flow.servers.len();
    let w: Vec<Vec<u64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| between(&flow.servers[i], &flow.servers[j]))
                .collect()
        })
        .collect();
    let servers = if n <= EVERY_ORDER_UP_TO {
        best_of_all(&w)
    } else {
        improved_by_swaps(&w)
    };
    // Each client beside the server it talks to most, in order of appearance.
    let mut beside: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for client in &flow.clients {
        let (slot, _) = servers
            .iter()
            .enumerate()
            .map(|(slot, &s)| (slot, between(client, &flow.servers[s])))
            .fold(
                (n, 0),
                |best, (slot, count)| if count > best.1 { (slot, count) } else { best },
            );
        beside.entry(slot).or_default().push(client);
    }
    let mut columns = Vec::new();
    for slot in 0..=n {
        if let Some(&s) = servers.get(slot) {
            columns.push(Column {
                host: &flow.servers[s],
                server: true,
            });
        }
        for client in beside.remove(&slot).unwrap_or_default() {
            columns.push(Column {
                host: client,
                server: false,
            });
        }
    }
    columns
}

/// The total length of the messages when server `order[i]` stands at `i`.
fn cost(w: &[Vec<u64>], order: &[usize]) -> u64 {
    let mut total = 0;
    for (i, &a) in order.iter().enumerate() {
        for (j, &b) in order.iter().enumerate().skip(i + 1) {
            total += w[a][b] * (j - i) as u64;
        }
    }
    total
}

/// The cheapest order, the first in lexicographic order among equals.
fn best_of_all(w: &[Vec<u64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..w.len()).collect();
    let mut best = (cost(w, &order), order.clone());
    while next_permutation(&mut order) {
        let c = cost(w, &order);
        if c < best.0 {
            best = (c, order.clone());
        }
    }
    best.1
}

/// Herd order, with any swap of two servers that shortens the messages
/// made until none does (at most n^2 rounds).
fn improved_by_swaps(w: &[Vec<u64>]) -> Vec<usize> {
    let n = w.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut current = cost(w, &order);
    for _ in 0..n * n {
        let mut better = false;
        for i in 0..n {
            for j in i + 1..n {
                order.swap(i, j);
                let c = cost(w, &order);
                if c < current {
                    current = c;
                    better = true;
                } else {
                    order.swap(i, j);
                }
            }
        }
        if !better {
            break;
        }
    }
    order
}

/// The next permutation in lexicographic order; false after the last.
fn next_permutation(v: &mut [usize]) -> bool {
    let Some(i) = (1..v.len()).rev().find(|&i| v[i - 1] < v[i]) else {
        return false;
    };
    let j = (i..v.len())
        .rev()
        .find(|&j| v[j] > v[i - 1])
        .expect("v[i] is larger");
    v.swap(i - 1, j);
    v[i..].reverse();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_that_talk_stand_together_and_ties_keep_herd_order() {
        // 0 and 3 talk a lot; 1 and 2 a little with each other.
        let mut w = vec![vec![0; 4]; 4];
        w[0][3] = 10;
        w[3][0] = 10;
        w[1][2] = 1;
        w[2][1] = 1;
        let order = best_of_all(&w);
        let at = |s: usize| order.iter().position(|&x| x == s).unwrap();
        assert_eq!(at(0).abs_diff(at(3)), 1, "{order:?}");
        assert_eq!(order, [0, 3, 1, 2]);
        assert_eq!(best_of_all(&vec![vec![0; 3]; 3]), [0, 1, 2], "nothing to gain");
        assert_eq!(cost(&w, &improved_by_swaps(&w)), cost(&w, &order));
    }
}
