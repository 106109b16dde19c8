//! The submit/close handshake: once [`Admission::close`] returns, every
//! submission that was admitted has finished pushing its task (and starting
//! any worker it reserved), and no later one is admitted. Without it, a
//! worker could see the pool closed, find the queues empty and leave just
//! before an admitted submission pushes.

use crate::sync::{AtomicBool, AtomicUsize, Backoff, Ordering};

#[derive(Default)]
pub(crate) struct Admission {
    closed: AtomicBool,
    /// Submissions past their `closed` check and not yet done.
    submitting: AtomicUsize,
}

/// An admitted submission; dropping it (also by unwinding) ends it.
pub(crate) struct Admitted<'a>(&'a Admission);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.submitting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    /// `None` once the pool is closed.
    pub(crate) fn enter(&self) -> Option<Admitted<'_>> {
        // A Dekker pair with `close`: the submitter writes `submitting` then
        // reads `closed`, the closer writes `closed` then reads `submitting`.
        // Only SeqCst on all four accesses forbids both reads seeing the old
        // values (store-load reordering), which would admit a submission
        // that `close` does not wait for.
        self.submitting.fetch_add(1, Ordering::SeqCst);
        let admitted = Admitted(self);
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        Some(admitted)
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let backoff = Backoff::new();
        while self.submitting.load(Ordering::SeqCst) > 0 {
            backoff.snooze();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
