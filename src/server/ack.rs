//! Acknowledgements as a diffusing computation (Dijkstra and Scholten):
//! a server that changes its store on an update forwards it and answers its
//! sender (the client, or the neighbour it came from) only once each of its
//! own forwards is acknowledged, or given up on. An update that changes
//! nothing is acknowledged at once, unless the server holds a newer update
//! of that client whose own acknowledgements are still under way; then the
//! answer waits for those, so "acknowledged" always means "this or newer is
//! held everywhere reachable". docs/protocol.md, "Acknowledgements".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, Notify};

/// What to do when an update is acknowledged downstream.
pub enum Done {
    /// Let the waiting client session send its AT reply.
    Client(oneshot::Sender<()>),
    /// Acknowledge sequence number `seq` on the link it came in on.
    Upstream(Arc<AckQueue>, u64),
}

impl Done {
    fn fire(self) {
        match self {
            Done::Client(tx) => {
                let _ = tx.send(());
            }
            Done::Upstream(queue, seq) => queue.push(seq),
        }
    }
}

/// One update's wait at one server: a count of forwards not yet
/// acknowledged, and what to do when it reaches zero.
pub struct Engagement {
    outstanding: AtomicUsize,
    done: Mutex<Option<Done>>,
}

impl Engagement {
    /// Armed with a count of one, so it cannot finish while forwards are
    /// still being added; `arm_released` drops that count.
    pub fn new(done: Done) -> Arc<Self> {
        Arc::new(Self {
            outstanding: AtomicUsize::new(1),
            done: Mutex::new(Some(done)),
        })
    }

    /// One more forward to wait for.
    pub fn add(&self) {
        self.outstanding.fetch_add(1, Ordering::AcqRel);
    }

    /// One forward acknowledged (or given up on).
    pub fn release(&self) {
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            let done = self.done.lock().unwrap_or_else(|p| p.into_inner()).take();
            done.into_iter().for_each(Done::fire);
        }
    }

    /// Every forward has been added.
    pub fn arm_released(&self) {
        self.release();
    }
}

/// Sequence numbers a link owes its publisher an `ACK` for; the link's
/// writer drains it.
#[derive(Default)]
pub struct AckQueue {
    seqs: Mutex<Vec<u64>>,
    pub ready: Notify,
}

impl AckQueue {
    pub fn push(&self, seq: u64) {
        self.seqs.lock().unwrap_or_else(|p| p.into_inner()).push(seq);
        self.ready.notify_one();
    }

    /// Everything owed so far.
    pub fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.seqs.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_every_forward_and_the_arming_are_released() {
        let queue = Arc::new(AckQueue::default());
        let e = Engagement::new(Done::Upstream(queue.clone(), 7));
        e.add();
        e.add();
        e.release();
        e.arm_released();
        assert!(queue.take().is_empty());
        e.release();
        assert_eq!(queue.take(), [7]);
    }

    #[test]
    fn with_no_forwards_it_fires_when_armed() {
        let (tx, mut rx) = oneshot::channel();
        Engagement::new(Done::Client(tx)).arm_released();
        assert_eq!(rx.try_recv(), Ok(()));
    }
}
