//! Resolving a `stealpool._future.Future` without its lock, when nobody can be
//! looking (see that module's docstring for why it has no lock up front).
//!
//! A future whose `_condition` was never made has no waiter, no callback and
//! no lock holder: `result()`, `wait()`, `as_completed()` and
//! `add_done_callback()` all make the condition before they look. With the
//! GIL held, the check and the writes below run with no Python code in
//! between, so no other thread can make the condition halfway through; a
//! thread that makes it afterwards sees the final state. Where the GIL can be
//! off (free-threaded builds) the stdlib's locked methods are always used.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

#[cfg(feature = "abi3")]
use super::names::names;

/// The stdlib's state constants and the attribute names written here, made
/// once at import: creating an interned string on first use may release the
/// GIL, which must never happen between the lock check and the writes.
struct States {
    pending: Py<PyAny>,
    running: Py<PyAny>,
    finished: Py<PyAny>,
    condition_key: Py<PyString>,
    state_key: Py<PyString>,
    result_key: Py<PyString>,
    exception_key: Py<PyString>,
}

static STATES: PyOnceLock<States> = PyOnceLock::new();
static GIL_ALWAYS_HELD: PyOnceLock<bool> = PyOnceLock::new();
/// Cleared by `stealpool/_internals.py` where the stdlib's `Future` lacks
/// an attribute written here: then every future takes the stdlib's methods.
static STDLIB_FUTURE_AS_EXPECTED: AtomicBool = AtomicBool::new(true);

/// Every future is resolved through the stdlib's locked methods from now on.
#[pyfunction]
pub(crate) fn use_stdlib_future_methods() {
    STDLIB_FUTURE_AS_EXPECTED.store(false, Ordering::Relaxed);
}

/// Decided once: a build whose GIL is on at import keeps it on for good.
pub(crate) fn init(py: Python<'_>) -> PyResult<()> {
    let sys = py.import("sys")?;
    let gil_enabled = match sys.getattr_opt("_is_gil_enabled")? {
        Some(is_gil_enabled) => is_gil_enabled.call0()?.is_truthy()?,
        None => true,
    };
    let _ = GIL_ALWAYS_HELD.set(py, gil_enabled);
    let base = py.import("concurrent.futures._base")?;
    let state = |name: &str| base.getattr_opt(name).map(|state| state.map(Bound::unbind));
    // A Python without these states (stealpool/_internals.py warns) never
    // takes the lockless path.
    let (Some(pending), Some(running), Some(finished)) =
        (state("PENDING")?, state("RUNNING")?, state("FINISHED")?)
    else {
        return Ok(());
    };
    let _ = STATES.set(
        py,
        States {
            pending,
            running,
            finished,
            condition_key: PyString::intern(py, "_condition").unbind(),
            state_key: PyString::intern(py, "_state").unbind(),
            result_key: PyString::intern(py, "_result").unbind(),
            exception_key: PyString::intern(py, "_exception").unbind(),
        },
    );
    Ok(())
}

/// The future's instance dict, made now if need be. [`prepare`] makes it on
/// the submitting thread before anyone else can see the future: on CPython
/// 3.11 and 3.12, two threads materializing one object's dict at once (a
/// garbage collection inside one lets the other run) end up sharing its
/// values array, a use-after-free.
fn instance_dict<'py>(future: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = future.py();
    // SAFETY: attached; returns a new reference or NULL with an error set.
    #[cfg(not(feature = "abi3"))]
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyObject_GenericGetDict(future.as_ptr(), std::ptr::null_mut()),
        )?
    };
    // The stable ABI has PyObject_GenericGetDict only from 3.10 on; the
    // `__dict__` descriptor of a Python class makes the dict the same way.
    #[cfg(feature = "abi3")]
    let dict = future.getattr(names(py).instance_dict.bind(py))?;
    Ok(dict.cast_into::<PyDict>()?)
}

/// Gives a new future its instance dict while only the submitter holds it.
pub(crate) fn prepare(future: &Bound<'_, PyAny>) -> PyResult<()> {
    instance_dict(future).map(drop)
}

/// The future's instance dict, if it was never given a condition.
fn lockless_dict<'py>(future: &Bound<'py, PyAny>) -> Option<(Bound<'py, PyDict>, &'static States)> {
    let py = future.py();
    if !*GIL_ALWAYS_HELD.get(py)? || !STDLIB_FUTURE_AS_EXPECTED.load(Ordering::Relaxed) {
        return None;
    }
    let states = STATES.get(py)?;
    let dict = instance_dict(future).ok()?;
    match dict.contains(states.condition_key.bind(py)) {
        Ok(false) => Some((dict, states)),
        _ => None,
    }
}

/// Moves a lockless, pending future to running. `None`: use the stdlib's
/// `set_running_or_notify_cancel` (the future has a lock, or was cancelled).
pub(crate) fn try_start(future: &Bound<'_, PyAny>) -> Option<()> {
    let py = future.py();
    let (dict, states) = lockless_dict(future)?;
    let pending = match dict.get_item(states.state_key.bind(py)).ok()? {
        None => true,
        Some(state) => state.is(states.pending.bind(py)),
    };
    if !pending {
        return None;
    }
    dict.set_item(states.state_key.bind(py), states.running.bind(py))
        .ok()
}

/// Finishes a lockless future with the call's outcome; false: use the
/// stdlib's `set_result`/`set_exception` (someone made the lock meanwhile).
pub(crate) fn try_finish(
    future: &Bound<'_, PyAny>,
    outcome: &Result<Py<PyAny>, Py<PyAny>>,
) -> bool {
    let py = future.py();
    let Some((dict, states)) = lockless_dict(future) else {
        return false;
    };
    let stored = match outcome {
        Ok(value) => dict.set_item(states.result_key.bind(py), value),
        Err(error) => dict.set_item(states.exception_key.bind(py), error),
    };
    stored.is_ok()
        && dict
            .set_item(states.state_key.bind(py), states.finished.bind(py))
            .is_ok()
}
