//! Which events a log keeps: from `RUST_LOG` when it is set, else from the
//! `[log] level` setting. Both use `tracing`'s target syntax (`debug`,
//! `herd=debug`, `warn,herd=info`); what counts is the level it gives the
//! target `herd`.

use std::str::FromStr;

use thiserror::Error;
use tracing_subscriber::filter::Targets;

use crate::observe::Level;

/// The target `RUST_LOG` directives name to set the log's level
/// (`RUST_LOG=herd=debug`).
pub const TARGET: &str = "herd";

/// The least level kept; `off` (or `error`, since no event is an error)
/// keeps nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(Option<Level>);

#[derive(Debug, Error)]
#[error("{setting} = {text:?} is not a log level ({reason}); try info, debug or herd=debug")]
pub struct LevelError {
    pub setting: &'static str,
    pub text: String,
    reason: String,
}

impl Threshold {
    pub const DEBUG: Self = Self(Some(Level::Debug));
    pub const INFO: Self = Self(Some(Level::Info));
    pub const OFF: Self = Self(None);

    /// `RUST_LOG` wins when it is set and names a level for `herd` (alone,
    /// as in `debug`, or for the target); otherwise `[log] level` applies.
    pub fn choose(config_level: &str, rust_log: Option<&str>) -> Result<Self, LevelError> {
        if let Some(text) = rust_log.filter(|t| !t.trim().is_empty()) {
            if let Some(threshold) = Self::parse(text, "RUST_LOG")? {
                return Ok(threshold);
            }
        }
        Self::parse(config_level, "[log] level")?.ok_or_else(|| LevelError {
            setting: "[log] level",
            text: config_level.to_string(),
            reason: format!("it names no level for {TARGET}"),
        })
    }

    /// `None` when the directives say nothing about target `herd`.
    fn parse(text: &str, setting: &'static str) -> Result<Option<Self>, LevelError> {
        let targets = Targets::from_str(text).map_err(|e| LevelError {
            setting,
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        // Directives match targets by prefix, as in tracing.
        let mentioned =
            targets.default_level().is_some() || targets.iter().any(|(t, _)| TARGET.starts_with(t));
        let wants = |level| targets.would_enable(TARGET, &level);
        Ok(mentioned.then(|| {
            Self(if wants(tracing::Level::DEBUG) {
                Some(Level::Debug)
            } else if wants(tracing::Level::INFO) {
                Some(Level::Info)
            } else if wants(tracing::Level::WARN) {
                Some(Level::Warn)
            } else {
                None
            })
        }))
    }

    pub fn keeps(self, level: Level) -> bool {
        self.0.is_some_and(|least| level >= least)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(config: &str, rust_log: Option<&str>) -> Threshold {
        Threshold::choose(config, rust_log).unwrap()
    }

    #[test]
    fn rust_log_wins_when_it_names_a_level_for_herd() {
        assert_eq!(choose("info", None), Threshold::INFO);
        assert_eq!(choose("debug", None), Threshold::DEBUG);
        assert_eq!(choose("info", Some("debug")), Threshold::DEBUG);
        assert_eq!(choose("info", Some("herd=debug")), Threshold::DEBUG);
        assert_eq!(choose("debug", Some("info")), Threshold::INFO);
        assert_eq!(choose("debug", Some("warn,herd=info")), Threshold::INFO);
        assert_eq!(choose("info", Some("herd=warn")), Threshold(Some(Level::Warn)));
        assert_eq!(choose("info", Some("off")), Threshold::OFF);
        assert_eq!(choose("info", Some("herd=error")), Threshold::OFF);
        // Set but silent about herd, or empty: the config decides.
        assert_eq!(choose("debug", Some("reqwest=trace")), Threshold::DEBUG);
        assert_eq!(choose("debug", Some("")), Threshold::DEBUG);
    }

    #[test]
    fn a_bad_level_names_where_it_came_from() {
        let e = Threshold::choose("info", Some("herd=loud")).unwrap_err();
        assert_eq!(e.setting, "RUST_LOG");
        assert!(
            e.to_string()
                .starts_with("RUST_LOG = \"herd=loud\" is not a log level"),
            "{e}"
        );
        let e = Threshold::choose("chatty", None).unwrap_err();
        assert_eq!(e.setting, "[log] level");
        let e = Threshold::choose("reqwest=debug", None).unwrap_err();
        assert!(e.to_string().contains("names no level for herd"), "{e}");
    }

    #[test]
    fn keeps_its_level_and_above() {
        assert!(Threshold::INFO.keeps(Level::Warn) && Threshold::INFO.keeps(Level::Info));
        assert!(!Threshold::INFO.keeps(Level::Debug));
        assert!(Threshold::DEBUG.keeps(Level::Debug));
        assert!(!Threshold::OFF.keeps(Level::Warn));
    }
}
