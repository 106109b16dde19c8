//! Counts the tasks one executor view has in flight, so its `shutdown(wait=True)`
//! can wait for exactly its own work on a pool shared with others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use super::wait::wait_releasing_gil;

#[derive(Default)]
struct InFlight {
    count: AtomicUsize,
    lock: Mutex<()>,
    reached_zero: Condvar,
}

/// Held by each task of a view until the task is finished or dropped.
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _held = self.0.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.0.reached_zero.notify_all();
        }
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

    /// Waits (interruptibly, without the GIL) until nothing is in flight.
    fn wait(&self, py: Python<'_>) -> PyResult<()> {
        let in_flight = &self.in_flight;
        wait_releasing_gil(py, |slice: Duration| {
            let held = in_flight.lock.lock().unwrap_or_else(|p| p.into_inner());
            if in_flight.count.load(Ordering::SeqCst) == 0 {
                return true;
            }
            let _held = in_flight
                .reached_zero
                .wait_timeout(held, slice)
                .unwrap_or_else(|p| p.into_inner());
            in_flight.count.load(Ordering::SeqCst) == 0
        })
    }
}
