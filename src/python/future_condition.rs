//! `FutureCondition`: the condition variable of `stealpool._future.Future`.
//!
//! It has the `threading.Condition` surface a future's users rely on (`with`,
//! `acquire`/`release`, `wait`, `notify`, `notify_all`), backed by a
//! re-entrant lock as `threading.Condition()` is, but made in one small
//! allocation the garbage collector never scans, where the stdlib's costs an
//! RLock, a deque and five bound methods. `concurrent.futures.wait` makes one
//! for every future it is given, so this is on the hot path of waiting.
//! Blocking happens without the GIL, in slices, so Ctrl-C still interrupts it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};
use std::time::Instant;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use super::wait::{deadline_after_seconds, wait_releasing_gil_until};
use crate::sync::{lock, wait_timeout};

#[derive(Default)]
struct State {
    owner: Option<ThreadId>,
    depth: usize,
    /// Threads in `wait()`, oldest first; each learns it was notified through its flag.
    waiters: VecDeque<Arc<AtomicBool>>,
}

#[pyclass(frozen, module = "stealpool._core")]
#[derive(Default)]
pub struct FutureCondition {
    state: Mutex<State>,
    lock_released: Condvar,
    notified: Condvar,
}

impl FutureCondition {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn try_take(state: &mut State, me: ThreadId, depth: usize) -> bool {
        match state.owner {
            None => {
                state.owner = Some(me);
                state.depth = depth;
                true
            }
            Some(owner) if owner == me => {
                state.depth += depth;
                true
            }
            Some(_) => false,
        }
    }

    /// Takes the lock `depth` times, blocking until `deadline`.
    fn take(&self, py: Python<'_>, depth: usize, deadline: Option<Instant>) -> PyResult<bool> {
        let me = thread::current().id();
        if Self::try_take(&mut self.state(), me, depth) {
            return Ok(true);
        }
        wait_releasing_gil_until(py, deadline, |slice| {
            let mut state = self.state();
            if Self::try_take(&mut state, me, depth) {
                return true;
            }
            let mut state = wait_timeout(&self.lock_released, state, slice);
            Self::try_take(&mut state, me, depth)
        })
    }

    fn owned_state(&self, action: &str) -> PyResult<MutexGuard<'_, State>> {
        let state = self.state();
        if state.owner != Some(thread::current().id()) {
            return Err(PyRuntimeError::new_err(format!(
                "cannot {action} un-acquired lock"
            )));
        }
        Ok(state)
    }
}

#[pymethods]
impl FutureCondition {
    #[new]
    fn new() -> Self {
        FutureCondition::default()
    }

    #[pyo3(signature = (blocking=true, timeout=-1.0))]
    fn acquire(&self, py: Python<'_>, blocking: bool, timeout: f64) -> PyResult<bool> {
        if !blocking {
            if timeout != -1.0 {
                return Err(PyValueError::new_err(
                    "can't specify a timeout for a non-blocking call",
                ));
            }
            return Ok(Self::try_take(&mut self.state(), thread::current().id(), 1));
        }
        let deadline = if timeout < 0.0 {
            None
        } else {
            deadline_after_seconds(timeout)?
        };
        self.take(py, 1, deadline)
    }

    fn release(&self) -> PyResult<()> {
        let mut state = self.owned_state("release")?;
        state.depth -= 1;
        if state.depth == 0 {
            state.owner = None;
            self.lock_released.notify_one();
        }
        Ok(())
    }

    fn __enter__(&self, py: Python<'_>) -> PyResult<bool> {
        self.take(py, 1, None)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.release()
    }

    fn _is_owned(&self) -> bool {
        self.state().owner == Some(thread::current().id())
    }

    /// Releases the lock (however deeply held), waits to be notified or for
    /// `timeout` seconds, takes the lock back; true if notified.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let deadline = match timeout {
            Some(seconds) => deadline_after_seconds(seconds.max(0.0))?,
            None => None,
        };
        let notified_flag = Arc::new(AtomicBool::new(false));
        let depth = {
            let mut state = self.owned_state("wait on")?;
            let depth = state.depth;
            state.owner = None;
            state.depth = 0;
            state.waiters.push_back(Arc::clone(&notified_flag));
            self.lock_released.notify_one();
            depth
        };
        let waited = wait_releasing_gil_until(py, deadline, |slice| {
            let state = self.state();
            if notified_flag.load(Ordering::Acquire) {
                return true;
            }
            let _state = wait_timeout(&self.notified, state, slice);
            notified_flag.load(Ordering::Acquire)
        });
        if !matches!(waited, Ok(true)) {
            self.state()
                .waiters
                .retain(|waiter| !Arc::ptr_eq(waiter, &notified_flag));
        }
        // As threading.Condition: the lock is held again on return, even on error.
        self.take(py, depth, None)?;
        waited
    }

    #[pyo3(signature = (n=1))]
    fn notify(&self, n: usize) -> PyResult<()> {
        let mut state = self.owned_state("notify on")?;
        let count = n.min(state.waiters.len());
        for waiter in state.waiters.drain(..count) {
            waiter.store(true, Ordering::Release);
        }
        if count > 0 {
            self.notified.notify_all();
        }
        Ok(())
    }

    fn notify_all(&self) -> PyResult<()> {
        let waiting = self.state().waiters.len();
        self.notify(waiting)
    }
}
