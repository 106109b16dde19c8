//! What outlives a worker thread: its name and whether it has finished, so
//! callers can join it without owning the thread.

use std::time::{Duration, Instant};

use crate::sync::{lock, Condvar, Mutex};

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
        let mut finished = lock(&self.finished);
        while !*finished {
            finished = match deadline {
                None => self
                    .finished_changed
                    .wait(finished)
                    .unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.finished_changed
                        .wait_timeout(finished, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        true
    }
}
