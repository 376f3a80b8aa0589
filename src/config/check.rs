//! What values the `[tuning]` and `[log]` settings may take: one table of
//! ranges, two orderings and the log level names, and where in a file to
//! point when one is refused. docs/protocol.md's "Limits" table states the
//! same ranges; a test below keeps the two in step.

use std::ops::Range as Span;

use serde_json::{json, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{LogSettings, Tuning};
use crate::bugs::Bugs;

/// The values one numeric setting may take, bounds included.
struct Range {
    field: &'static str,
    min: u64,
    max: u64,
}

const fn range(field: &'static str, min: u64, max: u64) -> Range {
    Range { field, min, max }
}

const MIB: u64 = 1 << 20;
const TEN_MINUTES_MS: u64 = 600_000;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 86_400_000;

/// Every numeric setting. Zero is refused wherever it would stall a loop,
/// spin one, or refuse everything; upper bounds keep every deadline far
/// from overflowing an `Instant` and every buffer within memory.
const RANGES: [Range; 18] = [
    range("tuning.max_line_bytes", 1, MIB),
    range("tuning.max_connections", 1, 1_000_000),
    range("tuning.idle_timeout_ms", 1, DAY_MS),
    range("tuning.line_timeout_ms", 1, DAY_MS),
    range("tuning.heartbeat_ms", 1, TEN_MINUTES_MS),
    range("tuning.dead_after_ms", 2, HOUR_MS),
    range("tuning.backoff_min_ms", 1, TEN_MINUTES_MS),
    range("tuning.backoff_max_ms", 1, HOUR_MS),
    range("tuning.link_queue", 1, MIB),
    range("tuning.places_timeout_ms", 1, TEN_MINUTES_MS),
    range("tuning.ack_timeout_ms", 1, TEN_MINUTES_MS),
    range("tuning.max_clients", 1, 100_000_000),
    range("tuning.max_client_id_bytes", 1, 65_536),
    range("tuning.max_future_ms", 0, 365 * DAY_MS),
    range("tuning.handshake_timeout_ms", 1, TEN_MINUTES_MS),
    range("tuning.catch_up_chunk", 1, 65_536),
    range("log.max_file_bytes", 4096, 1 << 40),
    range("log.max_files", 1, 1_000),
];

/// `field` must be greater than `other` (`strict`) or at least `other`.
struct Order {
    field: &'static str,
    other: &'static str,
    strict: bool,
}

const ORDERS: [Order; 2] = [
    // A link must be able to stay quiet for a heartbeat without dying.
    Order {
        field: "tuning.dead_after_ms",
        other: "tuning.heartbeat_ms",
        strict: true,
    },
    Order {
        field: "tuning.backoff_max_ms",
        other: "tuning.backoff_min_ms",
        strict: false,
    },
];

/// What `[log] level` may name, quietest first.
pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// A refused setting: why, and the settings to point at, in order of
/// preference (a file may leave the first one at its default).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub fields: Vec<&'static str>,
    pub message: String,
}

/// The values `field` (`tuning.heartbeat_ms`, ...) may take, bounds
/// included; `None` for a setting that is not a number.
pub(crate) fn bounds(field: &str, bugs: Bugs) -> Option<(u64, u64)> {
    let r = RANGES.iter().find(|r| r.field == field)?;
    // The catalogue's tuning bugs: the checks as they were before.
    let min = match r.field {
        "tuning.heartbeat_ms" if crate::bug!(bugs, ZeroHeartbeat) => 0,
        "tuning.backoff_min_ms" if crate::bug!(bugs, ZeroBackoff) => 0,
        _ => r.min,
    };
    let max = match r.field {
        "tuning.idle_timeout_ms" if crate::bug!(bugs, UnboundedIdleTimeout) => u64::MAX,
        _ => r.max,
    };
    Some((min, max))
}

/// Checks every setting against its range, the orderings and the level
/// names; the first refusal found.
pub(crate) fn check(tuning: &Tuning, log: &LogSettings, bugs: Bugs) -> Result<(), Refusal> {
    // Reading the settings by name keeps this file to one table of names.
    let settings = json!({"tuning": tuning, "log": log});
    let number = |field: &str| {
        let pointer = format!("/{}", field.replace('.', "/"));
        settings
            .pointer(&pointer)
            .and_then(Value::as_u64)
            .expect("a numeric setting")
    };
    for r in &RANGES {
        let value = number(r.field);
        let (min, max) = bounds(r.field, bugs).unwrap_or((r.min, r.max));
        if !(min..=max).contains(&value) {
            return Err(Refusal {
                fields: vec![r.field],
                message: format!("{} must be {min} to {max}, not {value}", r.field),
            });
        }
    }
    for o in &ORDERS {
        let (value, other) = (number(o.field), number(o.other));
        if value < other || (o.strict && value == other) {
            let relation = if o.strict { "greater than" } else { "at least" };
            return Err(Refusal {
                fields: vec![o.field, o.other],
                message: format!(
                    "{} must be {relation} {} ({other}), not {value}",
                    o.field, o.other
                ),
            });
        }
    }
    if !LOG_LEVELS.contains(&log.level.as_str()) {
        return Err(Refusal {
            fields: vec!["log.level"],
            message: format!(
                "log.level must be one of {}, not {:?}",
                LOG_LEVELS.join(", "),
                log.level
            ),
        });
    }
    Ok(())
}

/// Where to point for `fields` (dotted names): the value of the first one
/// the file gives, else the table of the first.
pub(crate) fn span_of(text: &str, fields: &[&str]) -> Option<Span<usize>> {
    let root = DeTable::parse(text).ok()?;
    let root = root.get_ref();
    let find = |path: &str| -> Option<Span<usize>> {
        let mut parts = path.split('.');
        let mut value: &Spanned<DeValue> = root.get(parts.next()?)?;
        for part in parts {
            match value.get_ref() {
                DeValue::Table(table) => value = table.get(part)?,
                _ => return None,
            }
        }
        Some(value.span())
    };
    let table = fields.first()?.split('.').next()?;
    fields.iter().find_map(|f| find(f)).or_else(|| find(table))
}

/// The dotted name of the setting or table whose key or value is exactly
/// `span` (`tuning.heartbeat_ms`, `server.port`, `server`), to name it in
/// a parse error. A table's span is only its header, so every table is
/// searched.
pub(crate) fn field_at(text: &str, span: &Span<usize>) -> Option<String> {
    fn search(table: &DeTable, span: &Span<usize>, path: &mut Vec<String>) -> bool {
        for (key, value) in table.iter() {
            path.push(key.get_ref().to_string());
            if key.span() == *span || found_in(value, span, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    fn found_in(value: &Spanned<DeValue>, span: &Span<usize>, path: &mut Vec<String>) -> bool {
        value.span() == *span
            || match value.get_ref() {
                DeValue::Table(table) => search(table, span, path),
                DeValue::Array(items) => items.iter().any(|item| found_in(item, span, path)),
                _ => false,
            }
    }
    let root = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    search(root.get_ref(), span, &mut path).then(|| path.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass() {
        check(&Tuning::default(), &LogSettings::default(), Bugs::default()).unwrap();
    }

    #[test]
    fn every_numeric_setting_has_a_range() {
        let settings = json!({"tuning": Tuning::default(), "log": LogSettings::default()});
        for (table, fields) in settings.as_object().unwrap() {
            for (name, value) in fields.as_object().unwrap() {
                let field = format!("{table}.{name}");
                let ranged = RANGES.iter().any(|r| r.field == field);
                assert_eq!(
                    value.is_u64(),
                    ranged,
                    "{field}: a number needs a range, and only a number"
                );
            }
        }
    }

    /// The "Limits" table of docs/protocol.md has a row for every setting,
    /// with its default and, for a number, its range as the code has it.
    #[test]
    fn the_limits_table_in_the_docs_matches_the_code() {
        let doc = include_str!("../../docs/protocol.md");
        let limits = doc
            .split("\n## ")
            .find(|s| s.starts_with("Limits"))
            .expect("a Limits section");
        let rows: Vec<Vec<&str>> = limits
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
            .collect();
        let settings = json!({"tuning": Tuning::default(), "log": LogSettings::default()});
        for (table, fields) in settings.as_object().unwrap() {
            for (name, default) in fields.as_object().unwrap() {
                let field = format!("{table}.{name}");
                let row = rows
                    .iter()
                    .find(|r| r[0] == format!("`{field}`"))
                    .unwrap_or_else(|| panic!("no row for `{field}` in docs/protocol.md"));
                let default = default.as_str().map_or(default.to_string(), |s| format!("`{s}`"));
                assert_eq!(row[1], default, "default of {field}");
                if let Some(r) = RANGES.iter().find(|r| r.field == field) {
                    assert!(
                        row[2].starts_with(&format!("{} to {}", r.min, r.max)),
                        "range of {field}: {row:?}"
                    );
                }
                for o in ORDERS.iter().filter(|o| o.field == field) {
                    let other = o.other.split('.').nth(1).unwrap();
                    assert!(
                        row[2].contains(&format!("`{other}`")),
                        "{field} must name {other}: {row:?}"
                    );
                }
            }
        }
        for row in &rows {
            let field = row[0].trim_matches('`');
            let known = settings
                .pointer(&format!("/{}", field.replace('.', "/")))
                .is_some();
            assert!(
                known,
                "docs/protocol.md has a row for {field}, which is no setting"
            );
        }
        let level = rows.iter().find(|r| r[0] == "`log.level`").unwrap();
        for name in LOG_LEVELS {
            assert!(
                level[2].contains(&format!("`{name}`")),
                "{name} missing: {level:?}"
            );
        }
    }

    #[test]
    fn spans_point_at_the_value_or_its_table() {
        let text = "[[server]]\nname = \"A\"\nport = 1\n\n[tuning]\nheartbeat_ms = 5000\n";
        let at = |fields: &[&str]| span_of(text, fields).map(|s| &text[s]);
        assert_eq!(at(&["tuning.heartbeat_ms"]), Some("5000"));
        assert_eq!(at(&["tuning.dead_after_ms", "tuning.heartbeat_ms"]), Some("5000"));
        assert_eq!(at(&["tuning.link_queue"]), Some("[tuning]"));
        assert_eq!(at(&["log.level"]), None);
    }

    #[test]
    fn parse_errors_can_name_their_field() {
        let text = "links = [[\"A\", \"B\"]]\n[[server]]\nname = \"A\"\nport = 1\n\n[[server]]\nname = \"B\"\nport = \"x\"\n\n[tuning]\nheartbeat_ms = \"x\"\n";
        let at = |needle: &str, nth: usize| {
            let start = text.match_indices(needle).nth(nth).unwrap().0;
            field_at(text, &(start..start + needle.len()))
        };
        assert_eq!(at("\"x\"", 0).as_deref(), Some("server.port"));
        assert_eq!(at("\"x\"", 1).as_deref(), Some("tuning.heartbeat_ms"));
        assert_eq!(at("heartbeat_ms", 0).as_deref(), Some("tuning.heartbeat_ms"));
        assert_eq!(at("[[server]]", 1).as_deref(), Some("server"));
        assert_eq!(
            at("\"B\"", 0).as_deref(),
            Some("links"),
            "inside an array: the array"
        );
        // A span that is no key or value (a missing field of the whole file).
        assert_eq!(field_at(text, &(0..text.len())), None);
    }
}
