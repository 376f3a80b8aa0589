//! A repeated client step: `every_ms` apart from its `at_ms`, `count`
//! times or until `until_ms`, expanded into one action per repetition with
//! `{n}` (the repetition number) filled in.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::placeholders::fill_n;
use super::steps::{located, Located, Read, Source};
use super::Action;

/// The keys that repeat a client step rather than describe one send.
pub(super) const REPEAT_KEYS: [&str; 3] = ["every_ms", "count", "until_ms"];
/// The most actions one repeated step may expand into.
pub(super) const MAX_REPETITIONS: u64 = 10_000;

/// `every_ms` and `count` or `until_ms`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Repeat {
    pub every_ms: u64,
    pub times: u64,
}

impl Repeat {
    /// The repetition `keys` (taken out of the step's table) ask for;
    /// `at_ms` is the step's.
    pub fn read(
        source: &Source,
        keys: DeTable,
        span: Range<usize>,
        at_ms: u64,
        table: &DeTable,
    ) -> Result<Option<Repeat>, Located> {
        #[derive(Deserialize)]
        struct Keys {
            every_ms: Option<u64>,
            count: Option<u64>,
            until_ms: Option<u64>,
        }
        if keys.is_empty() {
            return Ok(None);
        }
        let keys = Keys::deserialize(ValueDeserializer::from(Spanned::new(span, DeValue::Table(keys))))
            .map_err(|e| located(source, &e, table, &REPEAT_KEYS))?;
        let times = match (keys.every_ms, keys.count, keys.until_ms) {
            (Some(0), _, _) => return Err(source.at_value("every_ms", None, "must be at least 1")),
            (Some(_), Some(_), Some(_)) => {
                return Err(source.at_key("until_ms", "give count or until_ms, not both"))
            }
            (Some(_), Some(count), None) => count,
            (Some(every), None, Some(until)) if until >= at_ms => (until - at_ms) / every + 1,
            (Some(_), None, Some(until)) => {
                let why = format!("{until} is before the step's at_ms {at_ms}");
                return Err(source.at_value("until_ms", None, why));
            }
            (Some(_), None, None) => {
                let why = "repeats until when? add count = N (times) or until_ms = T (the last time)";
                return Err(source.at_key("every_ms", why));
            }
            (None, count, _) => {
                let key = if count.is_some() { "count" } else { "until_ms" };
                return Err(source.at_key(key, "repeats the step only with every_ms = T (ms between sends)"));
            }
        };
        if times == 0 || times > MAX_REPETITIONS {
            let key = if keys.count.is_some() { "count" } else { "until_ms" };
            let why = format!("repeats the step {times} times; it may repeat 1 to {MAX_REPETITIONS} times");
            return Err(source.at_value(key, None, why));
        }
        Ok(Some(Repeat {
            every_ms: keys.every_ms.unwrap_or(1),
            times,
        }))
    }
}

impl Read {
    /// The actions this step runs: one, or one per repetition with `{n}`
    /// filled in and `at_ms` moved on.
    pub fn expand(&self) -> Vec<Action> {
        let Some(Repeat { every_ms, times }) = self.repeat else {
            return vec![self.action.clone()];
        };
        (0..times)
            .map(|n| {
                let mut action = self.action.at(self.action.at_ms() + n * every_ms);
                if let Action::Client {
                    client,
                    send,
                    expect,
                    expect_match,
                    id,
                    ..
                } = &mut action
                {
                    for text in [client, send]
                        .into_iter()
                        .chain([expect, expect_match, id].into_iter().flatten())
                    {
                        *text = fill_n(text, n);
                    }
                }
                action
            })
            .collect()
    }
}
