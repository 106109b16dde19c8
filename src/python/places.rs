//! `Places` and `PlacedCall`: the counter behind `max_queued`.
//!
//! Each task submitted under `max_queued` holds one place from its
//! submission until it starts, its future is cancelled, or the pool drops it
//! unstarted. Taking and giving back a place is one atomic update, so a pool
//! with room pays almost nothing for the bound. A thread that finds it full
//! waits here, without the GIL; a release wakes it without running any
//! Python. Coroutines wait in Python (`stealpool._backpressure.Room`), which
//! a release calls back while any is waiting. Either kind of waiter counts
//! itself before it looks again, and a release frees its place before it
//! looks for waiters, so no wakeup is lost between the two.
//!
//! A place is only ever taken for a `PlacedCall`, which is made first and
//! marked as holding it in the same Rust step as the take: no Python runs
//! in between, so a signal (Ctrl-C) cannot leave a place without an owner,
//! and the owner gives it back exactly once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::guarded_call;
use super::wait::{deadline_after_seconds, wait_releasing_gil_until};
use crate::sync::{lock, wait_timeout};

#[pyclass(frozen, module = "stealpool._core")]
pub struct Places {
    max_queued: usize,
    queued: AtomicUsize,
    waiting_threads: AtomicUsize,
    waiting_coroutines: AtomicUsize,
    closed: AtomicBool,
    /// Held by a waiting thread from its last look until it sleeps.
    gate: Mutex<()>,
    room: Condvar,
    /// A `weakref.WeakMethod` of the room's `freed`: the room owns these places.
    on_freed: Py<PyAny>,
}

impl Places {
    fn try_take(&self) -> bool {
        self.queued
            .fetch_update(SeqCst, SeqCst, |queued| {
                (queued < self.max_queued).then_some(queued + 1)
            })
            .is_ok()
    }

    fn release(&self, py: Python<'_>) -> PyResult<()> {
        self.queued.fetch_sub(1, SeqCst);
        if self.waiting_threads.load(SeqCst) > 0 {
            let _gate = lock(&self.gate);
            self.room.notify_one();
        }
        if self.waiting_coroutines.load(SeqCst) == 0 {
            return Ok(());
        }
        // Both calls run Python on a worker: guarded, as every such entry.
        let no_args = PyTuple::empty(py);
        let freed = guarded_call::call(self.on_freed.bind(py), &no_args, None)?;
        if !freed.is_none() {
            guarded_call::call(&freed, &no_args, None)?;
        }
        Ok(())
    }
}

#[pymethods]
impl Places {
    #[new]
    fn new(max_queued: usize, on_freed: Py<PyAny>) -> Self {
        Places {
            max_queued,
            queued: AtomicUsize::new(0),
            waiting_threads: AtomicUsize::new(0),
            waiting_coroutines: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            gate: Mutex::new(()),
            room: Condvar::new(),
            on_freed,
        }
    }

    /// `func(*args, **kwargs)` holding a place, if one is free; else `None`.
    #[pyo3(signature = (func, args, kwargs=None))]
    fn take<'py>(
        slf: &Bound<'py, Self>,
        func: Py<PyAny>,
        args: Py<PyTuple>,
        kwargs: Option<Py<PyDict>>,
    ) -> PyResult<Option<Bound<'py, PlacedCall>>> {
        let placed = PlacedCall::without_place(slf, func, args, kwargs)?;
        if slf.get().try_take() {
            placed.get().held.store(true, SeqCst);
            return Ok(Some(placed));
        }
        Ok(None)
    }

    /// As `take`, waiting up to `timeout` seconds (`None`: for ever) for a
    /// place, without the GIL. `None`: none came in time, or `close()` was called.
    #[pyo3(signature = (timeout, func, args, kwargs=None))]
    fn wait_to_take<'py>(
        slf: &Bound<'py, Self>,
        timeout: Option<f64>,
        func: Py<PyAny>,
        args: Py<PyTuple>,
        kwargs: Option<Py<PyDict>>,
    ) -> PyResult<Option<Bound<'py, PlacedCall>>> {
        let py = slf.py();
        let deadline = match timeout {
            Some(seconds) => deadline_after_seconds(seconds)?,
            None => None,
        };
        let placed = PlacedCall::without_place(slf, func, args, kwargs)?;
        let owner = placed.get();
        let places = slf.get();
        let take = || {
            let took = places.try_take();
            if took {
                owner.held.store(true, SeqCst);
            }
            took
        };
        places.waiting_threads.fetch_add(1, SeqCst);
        let waited = wait_releasing_gil_until(py, deadline, |slice| {
            let gate = lock(&places.gate);
            if places.closed.load(SeqCst) {
                return true;
            }
            if take() {
                return true;
            }
            let _gate = wait_timeout(&places.room, gate, slice);
            // Woken or not, look again: a notified waiter must not leave a freed place behind.
            take() || places.closed.load(SeqCst)
        });
        places.waiting_threads.fetch_sub(1, SeqCst);
        waited?;
        Ok(owner.held.load(SeqCst).then_some(placed))
    }

    /// Wakes every waiting thread for good: the pool shut down.
    fn close(&self) {
        self.closed.store(true, SeqCst);
        let _gate = lock(&self.gate);
        self.room.notify_all();
    }

    /// A coroutine starts waiting: from now on every release calls the room back.
    fn coroutine_waits(&self) {
        self.waiting_coroutines.fetch_add(1, SeqCst);
    }

    fn coroutine_done_waiting(&self) {
        self.waiting_coroutines.fetch_sub(1, SeqCst);
    }

    #[getter]
    fn queued(&self) -> usize {
        self.queued.load(SeqCst)
    }

    /// Threads and coroutines waiting for a place.
    #[getter]
    fn waiting(&self) -> usize {
        self.waiting_threads.load(SeqCst) + self.waiting_coroutines.load(SeqCst)
    }
}

type Pending = (Py<PyAny>, Py<PyTuple>, Option<Py<PyDict>>);

/// `fn(*args, **kwargs)` holding a place, which it gives back exactly once:
/// when called, on `leave()`, or when dropped unstarted. Only
/// `Places.take`/`wait_to_take` make one, in the same step as the take. Only the queued
/// job holds it; its future refers to it weakly, to leave on `cancel()`.
#[pyclass(frozen, weakref, module = "stealpool._core")]
pub struct PlacedCall {
    places: Py<Places>,
    held: AtomicBool,
    call: Mutex<Option<Pending>>,
}

impl PlacedCall {
    /// Made before its place is taken, so that taking it is the last step.
    fn without_place<'py>(
        places: &Bound<'py, Places>,
        func: Py<PyAny>,
        args: Py<PyTuple>,
        kwargs: Option<Py<PyDict>>,
    ) -> PyResult<Bound<'py, PlacedCall>> {
        Bound::new(
            places.py(),
            PlacedCall {
                places: places.clone().unbind(),
                held: AtomicBool::new(false),
                call: Mutex::new(Some((func, args, kwargs))),
            },
        )
    }

    fn leave_once(&self, py: Python<'_>) -> PyResult<()> {
        if self.held.swap(false, SeqCst) {
            self.places.get().release(py)?;
        }
        Ok(())
    }
}

#[pymethods]
impl PlacedCall {
    fn __call__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let pending = lock(&self.call).take();
        let Some((func, args, kwargs)) = pending else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "a placed call runs once",
            ));
        };
        if let Err(error) = self.leave_once(py) {
            // The room's wakeup failed; the call itself still runs.
            error.write_unraisable(py, None);
        }
        // This frame sits between a worker and the user's code: entered
        // through guarded_call, as call.rs does, so that a finalizing
        // interpreter ending the thread parks it instead of aborting.
        guarded_call::call(
            func.bind(py),
            args.bind(py),
            kwargs.as_ref().map(|kwargs| kwargs.bind(py)),
        )
        .map(Bound::unbind)
    }

    /// Gives the place back now (a cancelled future; a call refused before it was queued).
    #[pyo3(signature = (_future=None))]
    fn leave(&self, py: Python<'_>, _future: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.leave_once(py)
    }
}

impl Drop for PlacedCall {
    fn drop(&mut self) {
        if *self.held.get_mut() {
            Python::attach(|py| {
                if let Err(error) = self.leave_once(py) {
                    error.write_unraisable(py, None);
                }
            });
        }
    }
}
