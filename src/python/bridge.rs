//! The completion bridge: how workers resolve asyncio futures.
//!
//! An asyncio future may only be resolved on its loop's thread. Each loop gets
//! one `Bridge`, stored on the loop object. A worker that finishes a task
//! pushes (future, outcome) onto the bridge's queue and, only when no drain is
//! pending already, schedules one with `loop.call_soon_threadsafe(bridge)`.
//! The drain runs on the loop thread and resolves everything queued in one
//! go: one self-pipe write and one loop wake-up for a whole burst.
//!
//! The `drain_scheduled` flag is cleared *before* the drain takes the queue,
//! so a completion pushed after the take always schedules a new drain.
//! A loop that is closed (`call_soon_threadsafe` raises) is remembered: its
//! queued and later completions are dropped quietly instead of raising or
//! being logged. The bridge holds its loop weakly: the loop holds the bridge.
//!
//! A loop closed with a drain scheduled discards the drain, and the queued
//! completions stay: loop -> bridge -> queued future -> loop is then a cycle
//! through this object, so the bridge shows the garbage collector what it
//! holds (`__traverse__`) and lets go of it on request (`__clear__`).

use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::pyclass::{PyTraverseError, PyVisit};
use pyo3::types::PyWeakrefReference;

use super::guarded_call;
use super::names::names;
use crate::scheduler::fork;
use crate::sync::lock;

pub(crate) enum Outcome {
    Value(Py<PyAny>),
    Error(Py<PyAny>),
    Cancel,
}

struct Completion {
    future: Py<PyAny>,
    outcome: Outcome,
}

#[pyclass(frozen, module = "stealpool._core")]
pub struct Bridge {
    event_loop: Py<PyWeakrefReference>,
    /// Bridges made before a fork belong to the parent: the child makes its own.
    fork_generation: u64,
    pending: Mutex<Vec<Completion>>,
    drain_scheduled: AtomicBool,
    loop_closed: AtomicBool,
}

impl Bridge {
    /// The bridge of `event_loop`, made on first use.
    pub(crate) fn of<'py>(event_loop: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Bridge>> {
        let py = event_loop.py();
        if let Some(existing) = event_loop.getattr_opt(names(py).bridge_attribute.bind(py))? {
            if let Ok(bridge) = existing.cast_into::<Bridge>() {
                if bridge.get().fork_generation == fork::generation() {
                    return Ok(bridge);
                }
            }
        }
        let bridge = Bound::new(
            py,
            Bridge {
                event_loop: PyWeakrefReference::new(event_loop)?.unbind(),
                fork_generation: fork::generation(),
                pending: Mutex::new(Vec::new()),
                drain_scheduled: AtomicBool::new(false),
                loop_closed: AtomicBool::new(false),
            },
        )?;
        event_loop
            .setattr(names(py).bridge_attribute.bind(py), &bridge)
            .map_err(|_| {
                PyRuntimeError::new_err(format!(
                    "stealpool cannot attach its completion bridge to {}",
                    event_loop.repr().map(|r| r.to_string()).unwrap_or_default()
                ))
            })?;
        Ok(bridge)
    }

    /// Called on a worker thread once a task for this loop finished.
    pub(crate) fn complete(slf: &Bound<'_, Bridge>, future: Py<PyAny>, outcome: Outcome) {
        let bridge = slf.get();
        if bridge.loop_closed.load(Ordering::Acquire) {
            return;
        }
        lock(&bridge.pending).push(Completion { future, outcome });
        if !bridge.drain_scheduled.swap(true, Ordering::AcqRel) {
            Bridge::schedule_drain(slf);
        }
    }

    fn schedule_drain(slf: &Bound<'_, Bridge>) {
        let py = slf.py();
        let bridge = slf.get();
        let scheduled = match bridge.event_loop.bind(py).upgrade() {
            // Python code that writes to the loop's self-pipe, releasing the GIL.
            Some(event_loop) => guarded_call::call_method(
                &event_loop,
                names(py).call_soon_threadsafe.bind(py),
                (slf,),
            )
            .is_ok(),
            None => false,
        };
        if !scheduled {
            // The loop is closed or gone: nobody can ever resolve these futures.
            bridge.loop_closed.store(true, Ordering::Release);
            let dropped = mem::take(&mut *lock(&bridge.pending));
            drop(dropped);
        }
    }
}

#[pymethods]
impl Bridge {
    /// The drain: runs on the loop thread and resolves every queued future.
    fn __call__(&self, py: Python<'_>) {
        self.drain_scheduled.store(false, Ordering::Release);
        let batch = mem::take(&mut *lock(&self.pending));
        for completion in batch {
            resolve(py, completion);
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.event_loop)?;
        // The collector runs attached and a worker holds the lock only while
        // attached, so it is free here; should it not be, nothing is reported
        // rather than blocking inside the collector.
        if let Ok(pending) = self.pending.try_lock() {
            for completion in pending.iter() {
                visit.call(&completion.future)?;
                match &completion.outcome {
                    Outcome::Value(object) | Outcome::Error(object) => visit.call(object)?,
                    Outcome::Cancel => {}
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        // Taken out before being dropped: dropping may run Python code that
        // completes another task on this very bridge.
        let dropped = mem::take(&mut *lock(&self.pending));
        drop(dropped);
    }
}

fn resolve(py: Python<'_>, completion: Completion) {
    let future = completion.future.bind(py);
    // Cancelled while the task ran (or before): the outcome is discarded quietly.
    match future
        .call_method0(names(py).done.bind(py))
        .and_then(|done| done.is_truthy())
    {
        Ok(false) => {}
        Ok(true) => return,
        Err(error) => return error.write_unraisable(py, Some(future)),
    }
    let resolved = match completion.outcome {
        Outcome::Value(value) => future.call_method1(names(py).set_result.bind(py), (value,)),
        Outcome::Error(error) => set_exception(future, error),
        Outcome::Cancel => future.call_method0(names(py).cancel.bind(py)),
    };
    if let Err(error) = resolved {
        error.write_unraisable(py, Some(future));
    }
}

/// asyncio's `wrap_future` turns concurrent.futures' own `CancelledError`,
/// `TimeoutError` and `InvalidStateError` into asyncio's; so does the bridge,
/// with the very function asyncio uses (should it fail, or this Python lack
/// it, the error stays as it is).
fn as_asyncio_error(py: Python<'_>, error: Py<PyAny>) -> Py<PyAny> {
    match &names(py).convert_future_exc {
        Some(convert) => convert
            .bind(py)
            .call1((error.clone_ref(py),))
            .map_or(error, Bound::unbind),
        None => error,
    }
}

/// `Future.set_exception` refuses some exceptions (StopIteration): report
/// those as a RuntimeError caused by the original, never leave the future pending.
fn set_exception<'py>(future: &Bound<'py, PyAny>, error: Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = future.py();
    let error = as_asyncio_error(py, error);
    match future.call_method1(names(py).set_exception.bind(py), (error.clone_ref(py),)) {
        Ok(done) => Ok(done),
        Err(refused) => {
            let replacement = PyRuntimeError::new_err(format!(
                "the task raised an exception an asyncio future cannot hold: {}",
                error.bind(py).repr()?
            ));
            let replacement = replacement.into_value(py);
            replacement
                .bind(py)
                .setattr(names(py).cause.bind(py), error)?;
            drop(refused);
            future.call_method1(names(py).set_exception.bind(py), (replacement,))
        }
    }
}
