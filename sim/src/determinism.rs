//! Keeping runs independent of what else the process did.

/// One simulation at a time per process: see `align_task_ids`.
pub(crate) static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// tokio numbers tasks from one process-wide counter, and a crashed host's
/// runtime shuts its tasks down shard by shard, the shard being the task
/// number mod 4 (current-thread runtimes have 4). So the order a crash
/// closes sockets in, and hence the trace, depends on the counter's value
/// mod 4 when the run starts. Spawning no-op tasks until the next number
/// is a multiple of 4 makes every run start alike, whatever ran before.
/// Must not be called inside a runtime; see `align_task_ids_on`.
pub fn align_task_ids() {
    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().build() {
        align_task_ids_on(&rt);
    }
}

/// `align_task_ids` with a runtime at hand (task numbers are process-wide,
/// so any runtime will do).
pub fn align_task_ids_on(rt: &tokio::runtime::Runtime) {
    const SHARDS: u64 = 4;
    for _ in 0..SHARDS {
        let id: u64 = rt.spawn(async {}).id().to_string().parse().unwrap_or(0);
        if id % SHARDS == SHARDS - 1 {
            return;
        }
    }
}
