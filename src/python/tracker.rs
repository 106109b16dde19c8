//! Counts the tasks one executor view has in flight, so its `shutdown(wait=True)`
//! can wait for exactly its own work on a pool shared with others.
//!
//! A task may shut its own view down: that wait must not count the caller,
//! or it would wait for itself forever. So each worker notes which tracker
//! the task it is running belongs to.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use super::wait::wait_releasing_gil;
use crate::sync::{lock, wait_timeout};

#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    lock: Mutex<()>,
    /// Signalled when the count drops to one or zero: a waiter running one
    /// of these tasks itself waits for one, any other waiter for zero.
    reached_own_or_zero: Condvar,
}

thread_local! {
    /// The `InFlight` of the task this thread is running, if it has one.
    static RUNNING: Cell<*const InFlight> = const { Cell::new(ptr::null()) };
}

/// Held by each task of a view until the task is finished or dropped.
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl InFlightGuard {
    /// Marks the calling thread as running this task until the result is dropped.
    pub(crate) fn running(&self) -> Running {
        Running(RUNNING.with(|running| running.replace(Arc::as_ptr(&self.0))))
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) <= 2 {
            let _held = lock(&self.0.lock);
            self.0.reached_own_or_zero.notify_all();
        }
    }
}

/// Restores the thread's previous mark when the task's call returns.
pub(crate) struct Running(*const InFlight);

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|running| running.set(self.0));
    }
}

#[pyclass(frozen, module = "stealpool._core")]
#[derive(Default)]
pub struct Tracker {
    in_flight: Arc<InFlight>,
}

impl Tracker {
    pub(crate) fn enter(&self) -> InFlightGuard {
        self.in_flight.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(Arc::clone(&self.in_flight))
    }
}

#[pymethods]
impl Tracker {
    #[new]
    fn new() -> Self {
        Tracker::default()
    }

    /// Waits (interruptibly, without the GIL) until nothing is in flight but
    /// the caller's own task, when the caller is one of these tasks.
    fn wait(&self, py: Python<'_>) -> PyResult<()> {
        let in_flight = &self.in_flight;
        let own = RUNNING.with(|running| ptr::eq(running.get(), Arc::as_ptr(in_flight)));
        let others_done = || in_flight.count.load(Ordering::SeqCst) <= usize::from(own);
        wait_releasing_gil(py, |slice: Duration| {
            let held = lock(&in_flight.lock);
            if others_done() {
                return true;
            }
            let _held = wait_timeout(&in_flight.reached_own_or_zero, held, slice);
            others_done()
        })
    }
}
