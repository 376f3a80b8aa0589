//! `{...}` in a step's text: `{now}` (the simulated POSIX time when the
//! step runs), `{n}` (the repetition number of a repeated step) and
//! `{ID.time}` (the `{now}` of the client step with `id = "ID"` that ran
//! last). Braces around anything else (`\d{9}` in a pattern) are left as
//! they are, and so are regex escapes with braces (`\x{FFFD}`, `\p{L}`).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::names::closest;

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}").expect("a valid pattern"));

/// Each `{name}` of `text` that is a placeholder: its byte range and name.
fn each(text: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    PLACEHOLDER.captures_iter(text).filter_map(move |m| {
        let whole = m.get(0).expect("the match").range();
        let before = &text.as_bytes()[..whole.start];
        let escape = matches!(before, [.., b'\\', c] if c.is_ascii_alphabetic());
        (!escape).then(|| (whole, m.get(1).expect("the name").as_str()))
    })
}

/// `text` with each placeholder replaced by `with(name)`.
fn replace(text: &str, with: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, name) in each(text) {
        if let Some(value) = with(name) {
            out.push_str(&text[last..range.start]);
            out.push_str(&value);
            last = range.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// What a field of a step may contain.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Allowed {
    pub now: bool,
    pub n: bool,
    pub times: bool,
}

/// A placeholder found in a text, where it is (bytes of the text).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Found {
    Now,
    N,
    /// `{ID.time}`.
    Time(String),
}

/// A placeholder, or a mistake, at a byte range of a text.
pub(super) type At<T> = (Range<usize>, T);

/// The placeholders of `text`, checked against what the field allows; an
/// error is the byte range of the culprit and what is wrong with it.
pub(super) fn scan(text: &str, allowed: Allowed) -> Result<Vec<At<Found>>, At<String>> {
    let mut found = Vec::new();
    for (at, name) in each(text) {
        let thing = match name.split_once('.') {
            None if name == "now" => Found::Now,
            None if name == "n" => Found::N,
            Some((id, "time")) if is_id(id) => Found::Time(id.to_string()),
            Some((id, _)) if is_id(id) => {
                return Err((
                    at,
                    format!("unknown placeholder {{{name}}}; did you mean {{{id}.time}}?"),
                ))
            }
            _ => {
                let hint =
                    closest(name, ["now", "n"]).map_or(String::new(), |k| format!("; did you mean {{{k}}}?"));
                return Err((
                    at,
                    format!("unknown placeholder {{{name}}}{hint} ({})", list(allowed)),
                ));
            }
        };
        let ok = match thing {
            Found::Now => allowed.now,
            Found::N => allowed.n,
            Found::Time(_) => allowed.times,
        };
        if !ok {
            return Err((
                at.clone(),
                format!("{} is not filled in here ({})", &text[at], list(allowed)),
            ));
        }
        found.push((at, thing));
    }
    Ok(found)
}

fn list(allowed: Allowed) -> String {
    let names: Vec<&str> = [
        (allowed.now, "{now}"),
        (allowed.n, "{n}"),
        (allowed.times, "{ID.time}"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if names.is_empty() {
        "no placeholders here".to_string()
    } else {
        format!("placeholders here: {}", names.join(", "))
    }
}

/// A step id: letters, digits, `_` and `-`.
pub(super) fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `text` with every placeholder replaced by `0`: what a pattern looks
/// like once filled in, to check that it compiles before the run.
pub(super) fn sample(text: &str) -> String {
    replace(text, |_| Some("0".to_string()))
}

/// `text` with `{n}` replaced by the repetition number.
pub(super) fn fill_n(text: &str, n: u64) -> String {
    text.replace("{n}", &n.to_string())
}

/// `text` with `{now}` and every known `{ID.time}` filled in; `escape`
/// makes each value match itself literally in a regular expression.
pub fn fill(text: &str, now: &str, sent: &BTreeMap<String, String>, escape: bool) -> String {
    let value = |v: &str| if escape { regex::escape(v) } else { v.to_string() };
    replace(text, |name| match name.split_once('.') {
        None if name == "now" => Some(value(now)),
        Some((id, "time")) => sent.get(id).map(|t| value(t)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Allowed = Allowed {
        now: true,
        n: true,
        times: true,
    };

    #[test]
    fn placeholders_are_found_and_regex_braces_are_not() {
        let found = scan(r"^AT \+0\.\d{9} \x{FFFD} k{n} {now} {first.time}$", ALL).unwrap();
        let kinds: Vec<Found> = found.into_iter().map(|(_, f)| f).collect();
        assert_eq!(kinds, [Found::N, Found::Now, Found::Time("first".into())]);
    }

    #[test]
    fn a_misspelt_or_misplaced_placeholder_is_refused_with_a_hint() {
        let (at, why) = scan("IAMAT k +1+1 {nwo}", ALL).unwrap_err();
        assert_eq!(at, 13..18);
        assert!(why.contains("did you mean {now}?"), "{why}");
        let (_, why) = scan("{first.tim}", ALL).unwrap_err();
        assert!(why.contains("did you mean {first.time}?"), "{why}");
        let only_times = Allowed {
            times: true,
            ..Allowed::default()
        };
        let (_, why) = scan("{now}", only_times).unwrap_err();
        assert!(why.starts_with("{now} is not filled in here"), "{why}");
    }

    #[test]
    fn filling_in_escapes_for_patterns_only() {
        let sent = BTreeMap::from([("a".to_string(), "1.5".to_string())]);
        assert_eq!(
            fill("{now} {a.time} {b.time}", "2.0", &sent, false),
            "2.0 1.5 {b.time}"
        );
        assert_eq!(fill("{a.time}", "2.0", &sent, true), r"1\.5");
    }
}
