//! Lines go into one buffer per server; a writer thread swaps it for an
//! empty one and writes the batch. Nothing is ever dropped for being slow:
//! when the buffer holds `buffer_bytes`, the next event waits until the
//! writer has taken it.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::rotate::Sink;
use super::text::Stamp;

/// How long a line may wait in the buffer when the server is quiet.
pub const FLUSH_MS: u64 = 20;

pub(crate) struct Shared {
    pending: Mutex<Pending>,
    /// The writer waits here for lines, or for the end.
    lines: Condvar,
    /// Events wait here while the buffer is full.
    room: Condvar,
    /// Events wait while this many bytes are pending.
    buffer_bytes: usize,
    /// A batch this big is written at once, without waiting for `FLUSH_MS`.
    batch_bytes: usize,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    /// Kept here so that lines are stamped in the order of the file.
    stamp: Stamp,
    closing: bool,
    /// The writer thread has ended (after closing, or if it panicked).
    writer_gone: bool,
}

impl Shared {
    pub(crate) fn new(buffer_bytes: usize) -> Self {
        Self {
            pending: Mutex::default(),
            lines: Condvar::new(),
            room: Condvar::new(),
            buffer_bytes,
            batch_bytes: (buffer_bytes / 4).max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Appending bytes cannot leave the buffer inconsistent.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets `write` append one line, waiting first while the buffer is
    /// full. After `close`, lines are no longer taken.
    pub(crate) fn append(&self, write: impl FnOnce(&mut Vec<u8>, &mut Stamp)) {
        let mut pending = self.lock();
        while pending.lines.len() >= self.buffer_bytes && !pending.writer_gone {
            pending = self.room.wait(pending).unwrap_or_else(PoisonError::into_inner);
        }
        if pending.closing || pending.writer_gone {
            return;
        }
        let before = pending.lines.len();
        let Pending { lines, stamp, .. } = &mut *pending;
        write(lines, stamp);
        // Wake the writer for a batch's first line (it then lets the batch
        // grow for FLUSH_MS) and when the batch is worth writing at once.
        if before == 0 || (before < self.batch_bytes && lines.len() >= self.batch_bytes) {
            self.lines.notify_one();
        }
    }

    /// Starts the thread that writes batches to `sink` until `close`.
    pub(crate) fn spawn_writer(
        self: &Arc<Self>,
        name: String,
        mut sink: impl Sink,
        on_error: impl Fn(&io::Error) + Send + 'static,
    ) -> io::Result<JoinHandle<()>> {
        let shared = self.clone();
        std::thread::Builder::new().name(name).spawn(move || {
            let _gone = Gone(&shared);
            let mut batch = Vec::new();
            let mut failing = false;
            loop {
                let closing = shared.take(&mut batch);
                shared.room.notify_all();
                if !batch.is_empty() {
                    match sink.write_batch(&batch) {
                        Ok(()) => failing = false,
                        // Reported once per run of failures, not per batch.
                        Err(e) => {
                            if !std::mem::replace(&mut failing, true) {
                                on_error(&e);
                            }
                        }
                    }
                    batch.clear();
                }
                if closing {
                    return;
                }
            }
        })
    }

    /// Waits for lines, lets them gather for up to `FLUSH_MS`, and swaps
    /// them into `batch`. True once closing: nothing more will come.
    fn take(&self, batch: &mut Vec<u8>) -> bool {
        let mut pending = self.lock();
        while pending.lines.is_empty() && !pending.closing {
            pending = self.lines.wait(pending).unwrap_or_else(PoisonError::into_inner);
        }
        if pending.lines.len() < self.batch_bytes && !pending.closing {
            // Woken early (a big batch, closing) is fine: the batch is smaller.
            let flush = Duration::from_millis(FLUSH_MS);
            pending = self
                .lines
                .wait_timeout(pending, flush)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        std::mem::swap(&mut pending.lines, batch);
        pending.closing
    }

    /// Takes no more lines and lets the writer finish what it has.
    pub(crate) fn close(&self) {
        self.lock().closing = true;
        self.lines.notify_one();
    }
}

/// Marks the writer gone however its thread ends, so that no event ever
/// waits for room that will not come.
struct Gone<'a>(&'a Shared);

impl Drop for Gone<'_> {
    fn drop(&mut self) {
        self.0.lock().writer_gone = true;
        self.0.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Keeps what it is given, but only once the test lets each batch through.
    struct Gated {
        gate: mpsc::Receiver<()>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Sink for Gated {
        fn write_batch(&mut self, batch: &[u8]) -> io::Result<()> {
            let _ = self.gate.recv();
            self.written.lock().unwrap().extend_from_slice(batch);
            Ok(())
        }
    }

    #[test]
    fn a_stalled_writer_holds_events_back_and_loses_none() {
        let shared = Arc::new(Shared::new(64));
        let (open, gate) = mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Gated {
            gate,
            written: written.clone(),
        };
        let writer = shared.spawn_writer("test-log".into(), sink, |_| {}).unwrap();
        // 100 lines of 10 bytes through a 64-byte buffer, from another thread.
        let events = {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for i in 0..100u32 {
                    shared.append(|out, _| out.extend_from_slice(format!("line {i:04}\n").as_bytes()));
                }
            })
        };
        // With the disk stalled, at most the buffer, one line past it and
        // the batch in hand can be taken: the event thread must wait.
        while shared.lock().lines.len() < 64 {
            std::thread::yield_now();
        }
        assert!(!events.is_finished(), "events went on past a full buffer");
        while !events.is_finished() {
            let _ = open.send(());
            std::thread::yield_now();
        }
        events.join().unwrap();
        shared.close();
        drop(open);
        writer.join().unwrap();
        let expected: String = (0..100).map(|i| format!("line {i:04}\n")).collect();
        assert_eq!(
            String::from_utf8(written.lock().unwrap().clone()).unwrap(),
            expected
        );
    }

    #[test]
    fn events_after_the_writer_is_gone_do_not_wait() {
        let shared = Arc::new(Shared::new(8));
        struct Panics;
        impl Sink for Panics {
            fn write_batch(&mut self, _: &[u8]) -> io::Result<()> {
                panic!("disk on fire");
            }
        }
        let writer = shared.spawn_writer("test-log".into(), Panics, |_| {}).unwrap();
        for _ in 0..100 {
            shared.append(|out, _| out.extend_from_slice(b"0123456789\n"));
        }
        assert!(writer.join().is_err());
        shared.append(|out, _| out.extend_from_slice(b"after\n"));
    }
}
