//! The one real clock of external mode: time since the scenario started
//! (what records are stamped with and steps are scheduled by), and POSIX
//! time (what `{now}` and the skew checks use, the servers' own clock).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct RealClock {
    start: Instant,
    start_posix_ns: i128,
}

impl RealClock {
    /// A clock whose time zero is now.
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
            start_posix_ns: Self::posix_ns(),
        }
    }

    /// The time since time zero at a POSIX instant (zero before it).
    pub fn since_start(&self, posix_ns: i128) -> Duration {
        Duration::from_nanos(u64::try_from(posix_ns - self.start_posix_ns).unwrap_or(0))
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The instant `at` after time zero.
    pub fn instant(&self, at: Duration) -> Instant {
        self.start + at
    }

    /// POSIX time in nanoseconds, as a server on this machine reads it.
    pub fn posix_ns() -> i128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128)
    }
}
