//! The server's wall clock, read from turmoil's simulated time.

use std::time::{Duration, SystemTime};

use herd::clock::Clock;

pub use crate::observe::EPOCH_SECS;

/// Every run starts at this instant, so AT skews never depend on when the
/// simulator was run.
pub fn epoch() -> SystemTime {
    // 2026-01-01T00:00:00Z
    SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS)
}

/// Simulated time since the POSIX epoch, as seen by the host being polled.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimClock;

impl Clock for SimClock {
    fn now_unix_nanos(&self) -> i128 {
        // Outside a host (never in the server) fall back to the epoch rather
        // than to the real clock, which would break determinism.
        let since = turmoil::since_epoch().unwrap_or(Duration::from_secs(EPOCH_SECS));
        since.as_nanos() as i128
    }
}
