//! The two kinds of task the Python layer queues: one resolving a
//! `concurrent.futures.Future` (`submit`), one resolving an asyncio future
//! through its loop's bridge (`run`, `run_in_executor` after `install`).
//! Once a task ran or was abandoned it is dropped, and with it every
//! reference to the function, its arguments and its outcome.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;

use super::bridge::{Bridge, Outcome};
use super::broken::broken_thread_pool;
use super::call::Call;
use super::fast_future;
use super::guarded_call;
use super::names::names;
use super::tracker::InFlightGuard;
use crate::scheduler::{Abandoned, Job, Release};

/// Counts a run task for `stats()["completed"]`: on `count()`, just before
/// the task publishes its outcome (so whoever holds the outcome sees the
/// count), or when dropped on any other way out (skipped, or a panic).
/// Relaxed: publishing the outcome orders it for the reader.
struct Completion<'a> {
    completed: Option<&'a AtomicU64>,
}

impl<'a> Completion<'a> {
    fn of(completed: &'a AtomicU64) -> Self {
        Completion {
            completed: Some(completed),
        }
    }

    fn count(&mut self) {
        if let Some(completed) = self.completed.take() {
            completed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Completion<'_> {
    fn drop(&mut self) {
        self.count();
    }
}

pub(crate) struct SyncJob {
    pub future: Py<PyAny>,
    pub call: Call,
    pub completed: Arc<AtomicU64>,
    pub _in_flight: Option<InFlightGuard>,
}

impl Job for SyncJob {
    // The worker is released after the future is resolved, as the stdlib's
    // worker counts itself idle only then: resolving runs the future's
    // done-callbacks, user code that a task relying on this worker must
    // not wait behind.
    fn run(self: Box<Self>, _release: &Release<'_>) {
        Python::attach(|py| {
            let SyncJob {
                future,
                call,
                completed,
                _in_flight,
            } = *self;
            let mut completion = Completion::of(&completed);
            let future = future.bind(py);
            if fast_future::try_start(future).is_none() {
                // As the stdlib's _WorkItem: a future cancelled while queued never runs.
                match guarded_call::call_method(
                    future,
                    names(py).set_running_or_notify_cancel.bind(py),
                    (),
                )
                .and_then(|running| running.is_truthy())
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(error) => return error.write_unraisable(py, Some(future)),
                }
            }
            let running = _in_flight.as_ref().map(InFlightGuard::running);
            let outcome = call.invoke(py);
            drop(running);
            completion.count();
            if fast_future::try_finish(future, &outcome) {
                return;
            }
            // Resolving runs the future's callbacks: user code.
            let resolved = match outcome {
                Ok(value) => {
                    guarded_call::call_method(future, names(py).set_result.bind(py), (value,))
                }
                Err(error) => {
                    guarded_call::call_method(future, names(py).set_exception.bind(py), (error,))
                }
            };
            if let Err(error) = resolved {
                error.write_unraisable(py, Some(future));
            }
        })
    }

    fn abandon(self: Box<Self>, why: Abandoned<'_>) {
        Python::attach(|py| {
            let future = self.future.bind(py);
            let abandoned = match why {
                Abandoned::Cancelled => {
                    guarded_call::call_method(future, names(py).cancel.bind(py), ())
                }
                Abandoned::Broken(reason) => match guarded_call::call_method(
                    future,
                    names(py).set_exception.bind(py),
                    (broken_thread_pool(py, reason).into_value(py),),
                ) {
                    // Cancelled while queued, or claimed by a waiter (see
                    // _nested.py): it stays as it is, and what its dequeue
                    // would have done is left, notifying a cancellation's
                    // waiters. (The stdlib's pool lets the error out of its
                    // worker, stranding the futures queued behind it.)
                    Err(error) if error.is_instance(py, names(py).invalid_state_error.bind(py)) => {
                        guarded_call::call_method(
                            future,
                            names(py).set_running_or_notify_cancel.bind(py),
                            (),
                        )
                    }
                    other => other,
                },
            };
            if let Err(error) = abandoned {
                error.write_unraisable(py, Some(future));
            }
        })
    }
}

pub(crate) struct AsyncJob {
    pub future: Py<PyAny>,
    pub bridge: Py<Bridge>,
    pub call: Call,
    /// Counts completions that went through a bridge, for `stats()`.
    pub bridged: Arc<AtomicU64>,
    pub completed: Arc<AtomicU64>,
    pub _in_flight: Option<InFlightGuard>,
}

impl Job for AsyncJob {
    fn run(self: Box<Self>, release: &Release<'_>) {
        Python::attach(|py| {
            let AsyncJob {
                future,
                bridge,
                call,
                bridged,
                completed,
                _in_flight,
            } = *self;
            let mut completion = Completion::of(&completed);
            // Cancelled before it started: never run it. Only reads the
            // future's state; it is resolved on its loop's thread alone.
            match future
                .bind(py)
                .call_method0(names(py).done.bind(py))
                .and_then(|done| done.is_truthy())
            {
                Ok(false) => {}
                Ok(true) => return,
                Err(error) => return error.write_unraisable(py, None),
            }
            let running = _in_flight.as_ref().map(InFlightGuard::running);
            let outcome = match call.invoke(py) {
                Ok(value) => Outcome::Value(value),
                Err(error) => Outcome::Error(error),
            };
            drop(running);
            bridged.fetch_add(1, Ordering::Relaxed);
            completion.count();
            // The bridge runs no user code here; the loop it wakes may
            // submit the next call at once, and should find this worker free.
            release.worker();
            Bridge::complete(bridge.bind(py), future, outcome);
        })
    }

    fn abandon(self: Box<Self>, why: Abandoned<'_>) {
        Python::attach(|py| {
            let outcome = match why {
                Abandoned::Cancelled => Outcome::Cancel,
                Abandoned::Broken(reason) => {
                    Outcome::Error(broken_thread_pool(py, reason).into_value(py).into_any())
                }
            };
            Bridge::complete(self.bridge.bind(py), self.future, outcome);
        })
    }
}
