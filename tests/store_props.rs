//! The merge rule against every delivery order: whatever the permutation
//! and duplication of a set of updates, every store ends with the newest
//! per client, and no merge ever takes a client back in time. "Newest" is
//! the documented order (docs/protocol.md, "Ordering"), written here again
//! from the update's plain fields, not `Update::precedence`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use herd::protocol::{ClientTime, Location, Skew, Update};
use herd::store::Store;
use proptest::prelude::*;

fn update() -> impl Strategy<Value = Update> {
    // Few clients, origins and times, so equal client times (ties) are common.
    (0..4u8, 0..3u8, 0..5u64, 0..3u8, -5i64..5).prop_map(|(client, origin, secs, frac, skew)| Update {
        origin: ["Goloman", "Hands", "Welsh"][origin as usize].to_string(),
        skew: Skew(skew as i128),
        // IDs that are prefixes of one another, and one with a byte that
        // sorts below the space: the store keys records by the ID alone.
        client: ["kiwi", "kiwi.cs", "ki", "kiwi\u{1}"][client as usize].to_string(),
        location: Location::parse(&format!("+{client}.0-{origin}.0")).unwrap(),
        // `1.5` and `1.50` are the same instant written two ways.
        time: ClientTime::parse(
            &[format!("{secs}"), format!("{secs}.5"), format!("{secs}.50")][frac as usize],
        )
        .unwrap(),
    })
}

/// Several deliveries of a set of updates: each a shuffled sample, with repeats.
fn deliveries() -> impl Strategy<Value = (Vec<Update>, Vec<Vec<Update>>)> {
    proptest::collection::vec(update(), 1..12).prop_flat_map(|updates| {
        let n = updates.len();
        let order = proptest::collection::vec(0..n, n..n * 3).prop_shuffle();
        (Just(updates.clone()), proptest::collection::vec(order, 3)).prop_map(move |(all, orders)| {
            // Every delivery carries every update at least once.
            let runs = orders
                .into_iter()
                .map(|extra| {
                    all.iter()
                        .cloned()
                        .chain(extra.into_iter().map(|i| all[i].clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            (all, runs)
        })
    })
}

/// `SECONDS[.FRACTION]` in nanoseconds.
fn nanos(time: &str) -> i128 {
    let (secs, frac) = time.split_once('.').unwrap_or((time, ""));
    let frac_ns = format!("{frac:0<9}").parse::<i128>().expect("digits");
    secs.parse::<i128>().expect("digits") * 1_000_000_000 + frac_ns
}

/// Client time in ns, then origin name, then skew, then location text,
/// then time text.
fn order(a: &Update, b: &Update) -> Ordering {
    let key = |u: &Update| {
        let time = u.time.as_str().to_string();
        (
            nanos(&time),
            u.origin.clone(),
            u.skew.0,
            u.location.as_str().to_string(),
            time,
        )
    };
    key(a).cmp(&key(b))
}

fn newest_per_client(updates: &[Update]) -> BTreeMap<String, Update> {
    let mut best: BTreeMap<String, Update> = BTreeMap::new();
    for u in updates {
        match best.get(&u.client) {
            Some(b) if order(b, u).is_ge() => {}
            _ => {
                best.insert(u.client.clone(), u.clone());
            }
        }
    }
    best
}

proptest! {
    #[test]
    fn every_order_ends_with_the_newest((all, runs) in deliveries(), rotate in 0usize..100) {
        let expected = newest_per_client(&all);
        for mut run in runs {
            let len = run.len();
            run.rotate_left(rotate % len);
            let mut store = Store::default();
            for u in run {
                let before = store.get(&u.client);
                let changed = store.merge(&u).changed();
                let after = store.get(&u.client).unwrap();
                if let Some(before) = &before {
                    prop_assert!(order(&after, before).is_ge(), "went back in time: {before} -> {after}");
                }
                prop_assert_eq!(changed, before.as_ref() != Some(&after));
            }
            // In client ID order, as a catch-up dump reads them.
            let held: Vec<(String, Update)> = store.iter().map(|u| (u.client.clone(), u)).collect();
            let expected: Vec<(String, Update)> = expected.clone().into_iter().collect();
            prop_assert_eq!(held, expected);
        }
    }

    #[test]
    fn an_equal_update_changes_nothing(u in update()) {
        let mut store = Store::default();
        prop_assert!(store.merge(&u).changed());
        prop_assert!(!store.merge(&u).changed());
    }
}
