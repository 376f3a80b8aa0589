//! Connection slots that protect: at most `max` connections hold a slot;
//! when all are taken, a newcomer takes the slot of the connection that has
//! been idle longest, which is told to close. A connection in the middle of
//! a request is never the one to go, so idle clients cannot lock active
//! ones out, and an attacker who holds connections open without using them
//! holds nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::bugs::Bugs;
use crate::observe::ConnId;

struct Slot {
    last_active: Instant,
    busy: bool,
    evict: Arc<Notify>,
}

pub struct Admission {
    max: usize,
    slots: Mutex<HashMap<ConnId, Slot>>,
    bugs: Bugs,
}

/// A connection's slot; dropping it frees the slot.
pub struct Ticket {
    conn: ConnId,
    admission: Arc<Admission>,
    evict: Arc<Notify>,
}

impl Admission {
    pub fn new(max: usize, bugs: Bugs) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            slots: Mutex::default(),
            bugs,
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ConnId, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for `conn`, evicting the longest-idle connection if every
    /// slot is taken; `None` when every connection is busy.
    pub fn admit(self: &Arc<Self>, conn: ConnId) -> Option<Ticket> {
        let mut slots = self.lock();
        if slots.len() >= self.max {
            let idlest = slots
                .iter()
                .filter(|(_, s)| !s.busy && !crate::bug!(self.bugs, FullRefusesNewcomers))
                .min_by_key(|(id, s)| (s.last_active, **id))
                .map(|(id, _)| *id)?;
            if let Some(slot) = slots.remove(&idlest) {
                slot.evict.notify_one();
            }
        }
        let evict = Arc::new(Notify::new());
        slots.insert(
            conn,
            Slot {
                last_active: Instant::now(),
                busy: false,
                evict: evict.clone(),
            },
        );
        Some(Ticket {
            conn,
            admission: self.clone(),
            evict,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl Ticket {
    /// The connection is working on a request (`true`) or done with it.
    pub fn busy(&self, busy: bool) {
        if let Some(slot) = self.admission.lock().get_mut(&self.conn) {
            slot.busy = busy;
            slot.last_active = Instant::now();
        }
    }

    /// Resolves when this connection must close to make room.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.lock().remove(&self.conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_newcomer_takes_the_longest_idle_slot_but_never_a_busy_one() {
        let admission = Admission::new(2, Bugs::default());
        let first = admission.admit(1).unwrap();
        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        let second = admission.admit(2).unwrap();
        second.busy(false);
        let third = admission.admit(3).expect("the idlest gives way");
        tokio::time::timeout(std::time::Duration::from_millis(1), first.evicted())
            .await
            .expect("the first, idle longest, is told to go");
        assert_eq!(admission.len(), 2);
        second.busy(true);
        third.busy(true);
        assert!(admission.admit(4).is_none(), "every slot is busy");
        drop(first);
        assert_eq!(admission.len(), 2, "an evicted ticket no longer counts");
    }
}
