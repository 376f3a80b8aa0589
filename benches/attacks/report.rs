//! One table per attack: a row per figure, a column per binary (and way of
//! running it), each number also as a ratio to the first column's.

use std::time::Duration;

use crate::clients::quantile;
use crate::harness::Figures;

const NAME: usize = 42;
const CELL: usize = 22;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn ms(samples: &[Duration], q: f64) -> Option<f64> {
    quantile(&mut samples.to_vec(), q).map(|d| d.as_secs_f64() * 1e3)
}

fn per_update(count: u64, f: &Figures) -> f64 {
    count as f64 / f.updates.max(1) as f64
}

/// The figures every attack has, by row (counts are whole numbers).
fn numbers(f: &Figures) -> Vec<(&'static str, Option<f64>)> {
    vec![
        ("RSS before (MB)", Some(mb(f.rss_before))),
        ("RSS peak (MB)", Some(mb(f.rss_peak))),
        ("RSS after (MB)", Some(mb(f.rss_after))),
        ("probe IAMAT p50 (ms)", ms(&f.iamat, 0.5)),
        ("probe IAMAT p99 (ms)", ms(&f.iamat, 0.99)),
        ("probe WHATSAT p50 (ms)", ms(&f.whatsat, 0.5)),
        ("probe WHATSAT p99 (ms)", ms(&f.whatsat, 0.99)),
        ("probe rounds failed", Some(f.probes_failed as f64)),
        ("link drops (link_down lines)", Some(f.logs.link_downs as f64)),
        ("log written (MB)", Some(mb(f.logs.bytes))),
        (
            "catch-up entries per client update",
            Some(per_update(f.catch_up, f)),
        ),
        (
            "flooded HERD AT per client update",
            Some(per_update(f.flooded, f)),
        ),
    ]
}

fn cell(name: &str, value: Option<f64>, base: Option<f64>) -> String {
    let Some(value) = value else {
        return "-".to_string();
    };
    let count = name.starts_with("probe rounds") || name.starts_with("link drops");
    let text = if count || value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    };
    match base {
        Some(base) if base > 0.0 => format!("{text} ({:.2}x)", value / base),
        _ => text,
    }
}

pub fn table(title: &str, columns: &[(String, Figures)]) {
    println!("\n{title}");
    print!("{:<NAME$}", "");
    for (label, _) in columns {
        print!("{label:>CELL$}");
    }
    println!();
    let rows: Vec<_> = columns.iter().map(|(_, f)| numbers(f)).collect();
    for (i, (name, _)) in rows[0].iter().enumerate() {
        print!("{name:<NAME$}");
        let base = rows[0][i].1;
        for (c, row) in rows.iter().enumerate() {
            let base = if c == 0 { None } else { base };
            print!("{:>CELL$}", cell(name, row[i].1, base));
        }
        println!();
    }
    let (_, first) = &columns[0];
    for (i, (name, _)) in first.extra.iter().enumerate() {
        print!("{name:<NAME$}");
        for (_, f) in columns {
            let text = f.extra.get(i).map_or("-", |(_, v)| v.as_str());
            print!("{text:>CELL$}");
        }
        println!();
    }
    for (name, figure) in [
        (
            "probe rounds",
            (|f: &Figures| f.probes as u64) as fn(&Figures) -> u64,
        ),
        ("client updates", |f| f.updates),
    ] {
        print!("{name:<NAME$}");
        for (_, f) in columns {
            print!("{:>CELL$}", figure(f));
        }
        println!();
    }
}
