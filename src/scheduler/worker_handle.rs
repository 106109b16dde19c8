//! What outlives a worker thread: its name, and whether it has started and
//! finished, so callers can wait for either without owning the thread.

use std::time::Duration;

use crate::sync::Latch;

#[derive(Debug)]
pub struct WorkerHandle {
    pub serial: u64,
    pub name: String,
    started: Latch,
    finished: Latch,
}

impl WorkerHandle {
    pub(crate) fn new(serial: u64, name: String) -> Self {
        WorkerHandle {
            serial,
            name,
            started: Latch::default(),
            finished: Latch::default(),
        }
    }

    /// Called by the thread once it is ready to be seen (the embedder decides
    /// what that means); a thread that ends counts as started too.
    pub fn mark_started(&self) {
        self.started.set();
    }

    pub(crate) fn mark_finished(&self) {
        self.started.set();
        self.finished.set();
    }

    pub fn is_alive(&self) -> bool {
        !self.finished.is_set()
    }

    /// Waits until the thread has started (or ended); false if `timeout` passed first.
    pub fn wait_started(&self, timeout: Option<Duration>) -> bool {
        self.started.wait(timeout)
    }

    /// Waits for the thread to finish; false if `timeout` passed first.
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        self.finished.wait(timeout)
    }
}
