//! What outlives a worker thread: its name and whether it has finished, so
//! callers can join it without owning the thread.

use std::time::{Duration, Instant};

use crate::sync::{lock, wait_while, Condvar, Mutex};

#[derive(Debug)]
pub struct WorkerHandle {
    pub serial: u64,
    pub name: String,
    finished: Mutex<bool>,
    finished_changed: Condvar,
}

impl WorkerHandle {
    pub(crate) fn new(serial: u64, name: String) -> Self {
        WorkerHandle {
            serial,
            name,
            finished: Mutex::new(false),
            finished_changed: Condvar::new(),
        }
    }

    pub(crate) fn mark_finished(&self) {
        *lock(&self.finished) = true;
        self.finished_changed.notify_all();
    }

    pub fn is_alive(&self) -> bool {
        !*lock(&self.finished)
    }

    /// Waits for the thread to finish; false if `timeout` passed first.
    pub fn join(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let finished = lock(&self.finished);
        wait_while(&self.finished_changed, finished, deadline, |finished| {
            !*finished
        })
        .1
    }
}
