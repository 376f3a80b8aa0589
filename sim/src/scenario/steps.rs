//! One `[[step]]` table, read key by key with the place of each key and
//! value, so that a mistake is reported where it is: `step 3 (client),
//! at_ms: ...` at the line and column of the value. A client step may
//! repeat (`repeat.rs`).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeString, DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::check::check_action;
use super::names::{did_you_mean, fields, variants};
use super::placeholders::{self, Allowed, Found};
use super::repeat::{Repeat, REPEAT_KEYS};
use super::Action;

/// A mistake at a byte range of the file.
#[derive(Debug)]
pub(super) struct Located {
    pub span: Range<usize>,
    pub message: String,
}

/// Where a key is: the key, its value, and the elements of a list.
type Spans = (Range<usize>, Range<usize>, Vec<Range<usize>>);

/// Where a step and each of its keys and values are in the file.
pub(super) struct Source {
    /// 1-based, in file order.
    pub number: usize,
    /// Its `do`.
    pub action: &'static str,
    pub span: Range<usize>,
    keys: BTreeMap<String, Spans>,
    /// Each `{ID.time}` it uses: the field, where, and the ID.
    pub refs: Vec<(String, Range<usize>, String)>,
}

impl Source {
    fn prefix(&self) -> String {
        format!("step {} ({})", self.number, self.action)
    }

    /// A mistake in the value of `field` (its `index`th element, of a list).
    pub fn at_value(&self, field: &str, index: Option<usize>, message: impl AsRef<str>) -> Located {
        let span = match self.keys.get(field) {
            Some((_, value, items)) => index.and_then(|i| items.get(i)).unwrap_or(value).clone(),
            None => self.span.clone(),
        };
        let message = format!("{}, {field}: {}", self.prefix(), message.as_ref());
        Located { span, message }
    }

    pub fn at_key(&self, field: &str, message: impl AsRef<str>) -> Located {
        let span = self.keys.get(field).map_or(self.span.clone(), |k| k.0.clone());
        let message = format!("{}, {field}: {}", self.prefix(), message.as_ref());
        Located { span, message }
    }

    fn at_step(&self, message: impl AsRef<str>) -> Located {
        let message = format!("{}: {}", self.prefix(), message.as_ref());
        Located {
            span: self.span.clone(),
            message,
        }
    }

    /// The field whose key or value holds `span`, and the element of a list.
    fn field_at(&self, span: &Range<usize>) -> Option<(String, Option<usize>)> {
        let within = |outer: &Range<usize>| outer.start <= span.start && span.end <= outer.end;
        self.keys.iter().find_map(|(name, (key, value, items))| {
            let index = items.iter().position(within);
            (within(key) || within(value)).then(|| (name.clone(), index))
        })
    }
}

/// A step as written: its action (the first repetition) and where it is.
pub(super) struct Read {
    pub action: Action,
    pub repeat: Option<Repeat>,
    pub source: Source,
}

/// Reads step `number` (1-based) of `text`; `servers` are the herd's.
pub(super) fn read(
    number: usize,
    step: &Spanned<DeValue>,
    text: &str,
    servers: &[&str],
) -> Result<Read, Located> {
    let span = step.span();
    let DeValue::Table(table) = step.get_ref() else {
        return Err(Located {
            span,
            message: format!("step {number}: a step is a table: [[step]] and its keys"),
        });
    };
    let mut source = Source {
        number,
        action: "?",
        span: span.clone(),
        keys: table
            .iter()
            .map(|(k, v)| {
                let items = match v.get_ref() {
                    DeValue::Array(items) => items.iter().map(Spanned::span).collect(),
                    _ => Vec::new(),
                };
                (k.get_ref().to_string(), (k.span(), v.span(), items))
            })
            .collect(),
        refs: Vec::new(),
    };
    let actions = variants::<Action>();
    let Some(what) = table.get("do") else {
        let message = format!(
            "step {number}: missing `do`, what the step does: one of {}",
            actions.join(", ")
        );
        return Err(Located { span, message });
    };
    let name = what.get_ref().as_str().unwrap_or_default();
    let Some(action) = actions.iter().copied().find(|a| *a == name) else {
        let message = match what.get_ref().as_str() {
            Some(_) => format!(
                "step {number}, do: unknown action {name:?}{} (actions: {})",
                did_you_mean(name, actions.iter().copied()),
                actions.join(", ")
            ),
            None => format!("step {number}, do: a string, one of {}", actions.join(", ")),
        };
        return Err(Located {
            span: what.span(),
            message,
        });
    };
    source.action = action;
    let own = fields::<Action>(Some(action));
    let repeatable = action == "client";
    let takes: Vec<&str> = own
        .iter()
        .copied()
        .chain(REPEAT_KEYS.into_iter().filter(|_| repeatable))
        .collect();
    let mut keys: Vec<(&Spanned<DeString>, &Spanned<DeValue>)> = table.iter().collect();
    keys.sort_by_key(|(k, _)| k.span().start);
    for (key, _) in &keys {
        let key = key.get_ref().as_ref();
        if key != "do" && !takes.contains(&key) {
            let hint = did_you_mean(key, takes.iter().copied());
            return Err(source.at_key(
                key,
                format!("unknown field{hint} ({action} takes {})", takes.join(", ")),
            ));
        }
    }
    let mut rest = DeTable::new();
    let mut repeat_keys = DeTable::new();
    for (key, value) in keys.into_iter().filter(|(k, _)| k.get_ref() != "do") {
        if repeatable && REPEAT_KEYS.contains(&key.get_ref().as_ref()) {
            repeat_keys.insert(key.clone(), value.clone());
        } else {
            rest.insert(key.clone(), value.clone());
        }
    }
    let mut outer = DeTable::new();
    let tag = Spanned::new(what.span(), DeString::Borrowed(action));
    outer.insert(tag, Spanned::new(span.clone(), DeValue::Table(rest)));
    let parsed = Action::deserialize(ValueDeserializer::from(Spanned::new(
        span.clone(),
        DeValue::Table(outer),
    )));
    let action_value = parsed.map_err(|e| located(&source, &e, table, &takes))?;
    debug_assert_eq!(
        action_value.name(),
        action,
        "Action::name() follows serde's names"
    );
    check_action(&action_value, servers).map_err(|bad| source.at_value(bad.field, bad.index, bad.message))?;
    let repeat = Repeat::read(&source, repeat_keys, span, action_value.at_ms(), table)?;
    scan_placeholders(&mut source, table, text, repeat.is_some())?;
    Ok(Read {
        action: action_value,
        repeat,
        source,
    })
}

/// A deserialization error at its field, in words.
pub(super) fn located(source: &Source, e: &toml::de::Error, table: &DeTable, takes: &[&str]) -> Located {
    let message = reword(e.message());
    let Some((field, index)) = e.span().and_then(|s| source.field_at(&s)) else {
        return source.at_step(format!(
            "{message} ({} takes {})",
            source.action,
            takes.join(", ")
        ));
    };
    let hint = table
        .get(field.as_str())
        .and_then(|v| v.get_ref().as_str())
        .filter(|_| field.ends_with("_ms"))
        .and_then(as_ms)
        .map_or(String::new(), |ms| {
            format!("; write milliseconds as a number: {field} = {ms}")
        });
    source.at_value(&field, index, format!("{message}{hint}"))
}

/// serde's `invalid type: string "2.2s", expected u64` as `expected a whole
/// number, found string "2.2s"`.
pub(super) fn reword(message: &str) -> String {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    let Some((found, expected)) = rest.and_then(|r| r.split_once(", expected ")) else {
        return message.replace('`', "");
    };
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number",
        "f64" => "a number",
        "a boolean" => "true or false",
        "a string" => "a string in quotes",
        other => other,
    };
    format!("expected {expected}, found {}", found.replace('`', ""))
}

/// `"2.2s"` or `"500 ms"` in milliseconds, for the hint.
fn as_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, scale) = match text.strip_suffix("ms") {
        Some(n) => (n, 1.0),
        None => (text.strip_suffix('s')?, 1000.0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value >= 0.0).then(|| (value * scale).round() as u64)
}

/// What placeholders each field takes.
fn allowed(action: &str, field: &str, repeated: bool) -> Allowed {
    match (action, field) {
        ("client", "send" | "expect" | "expect_match") => Allowed {
            now: true,
            n: repeated,
            times: true,
        },
        ("client", "client" | "id") => Allowed {
            n: repeated,
            ..Allowed::default()
        },
        ("probe", "send") => Allowed {
            now: true,
            ..Allowed::default()
        },
        ("holds", "time") => Allowed {
            times: true,
            ..Allowed::default()
        },
        _ => Allowed::default(),
    }
}

/// Checks the placeholders of every text field; keeps each `{ID.time}`.
fn scan_placeholders(
    source: &mut Source,
    table: &DeTable,
    text: &str,
    repeated: bool,
) -> Result<(), Located> {
    for (key, value) in table {
        let (field, span) = (key.get_ref().as_ref(), value.span());
        let Some(content) = value.get_ref().as_str() else {
            continue;
        };
        // Columns are exact when the value is written as plain quoted text.
        let raw = &text[span.clone()];
        let plain = raw.len() == content.len() + 2 && &raw[1..raw.len() - 1] == content;
        let at = |r: Range<usize>| {
            if plain {
                span.start + 1 + r.start..span.start + 1 + r.end
            } else {
                span.clone()
            }
        };
        match placeholders::scan(content, allowed(source.action, field, repeated)) {
            Err((r, mut why)) => {
                if source.action == "holds" && why.starts_with("{now}") {
                    why.push_str(
                        "; a holds step's {now} would be its own time: give the client step an id \
                         (id = \"kiwi\") and write time = \"{kiwi.time}\"",
                    );
                }
                let mut e = source.at_value(field, None, why);
                e.span = at(r);
                return Err(e);
            }
            Ok(found) => {
                for (r, thing) in found {
                    if let Found::Time(id) = thing {
                        source.refs.push((field.to_string(), at(r), id));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_reworded_and_times_hinted() {
        assert_eq!(
            reword("invalid type: string \"2.2s\", expected u64"),
            "expected a whole number, found string \"2.2s\""
        );
        assert_eq!(reword("missing field `within_ms`"), "missing field within_ms");
        assert_eq!(as_ms("2.2s"), Some(2200));
        assert_eq!(as_ms("500 ms"), Some(500));
        assert_eq!(as_ms("soon"), None);
    }
}
