//! The wall clock behind AT skews, injected so the simulator can control it.

use std::sync::Arc;

/// Nanoseconds since the POSIX epoch, as the server sees them.
pub trait Clock: Send + Sync + 'static {
    fn now_unix_nanos(&self) -> i128;
}

/// The real wall clock; the only place the server reads `SystemTime`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_nanos(&self) -> i128 {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        }
    }
}

pub type SharedClock = Arc<dyn Clock>;
