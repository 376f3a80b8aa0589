//! No link is dropped for being behind (docs/protocol.md, "A slow
//! neighbour gets the newest update per client"): between two servers
//! that are up, over a path with no fault in force for long enough that
//! every old connection is gone and every new one built, a link never goes
//! down. Whatever the reason the server gives, it is one too many.
//!
//! Without a herd secret a stranger may pose as a neighbour and take over
//! its feed (documented); drops of that neighbour's links during such an
//! attack are not counted.

use std::time::Duration;

use super::harm::Harm;
use super::violation::Violation;
use crate::observe::ServerEvent;

#[derive(Default)]
pub struct Drops {
    /// (server attacked, neighbour claimed, until): drops not counted.
    excused: Vec<(String, String, Duration)>,
}

impl Drops {
    pub fn excuse(&mut self, server: &str, claimed: &str, until: Duration) {
        self.excused
            .push((server.to_string(), claimed.to_string(), until));
    }

    fn excused(&self, a: &str, b: &str, now: Duration) -> bool {
        self.excused
            .iter()
            .any(|(s, c, until)| now <= *until && ((s == a && c == b) || (s == b && c == a)))
    }

    /// `steady(a, b)`: whether the link between `a` and `b` has been
    /// healthy, between servers up, for long enough.
    pub fn check(
        &self,
        server: &str,
        event: &ServerEvent,
        now: Duration,
        steady: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), Violation> {
        let (ServerEvent::LinkDown { neighbour, why, .. } | ServerEvent::FeedDown { neighbour, why, .. }) =
            event
        else {
            return Ok(());
        };
        if steady(server, neighbour) && !self.excused(server, neighbour, now) {
            return Err(Violation::Harm(Harm::LinkDropped {
                server: server.to_string(),
                neighbour: neighbour.clone(),
                why: why.clone(),
            }));
        }
        Ok(())
    }
}
