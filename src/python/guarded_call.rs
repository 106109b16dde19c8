//! Calls from a worker into Python code that cannot abort the process when
//! the interpreter finalizes underneath them.
//!
//! Before 3.14, CPython ends a thread that takes the GIL back after
//! finalization has begun with `pthread_exit`, a forced unwind. That can
//! happen anywhere inside Python code a worker runs (the eval loop handing
//! the GIL over, a blocking call returning), for example when Ctrl-C cuts
//! the exit-time join short while a task still runs. A forced unwind that
//! reaches a Rust frame aborts the process: `catch_unwind` swallows it, and a
//! frame that may not unwind stops it. So a worker enters Python code only
//! through [`call`], which declares the entry point `C-unwind` and, if an
//! unwind comes back through it, parks the thread for good instead: what
//! 3.14 does itself, while the process finishes exiting around it. PyO3
//! guards its own GIL re-acquisition (`detach`, `attach`) the same way.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::BoundObject;

// Worker paths call Python through `call` and `call_method` only. A worker
// path that once called through PyO3's `.call` (its `C` declaration of the
// same function, which cannot unwind) made the release build (fat LTO) abort
// on the forced unwind again, guarded calls included; the exit-signal stress
// test is what shows this still holds.
#[cfg(unix)]
mod raw {
    use pyo3::ffi::PyObject;

    extern "C-unwind" {
        pub fn PyObject_Call(
            callable: *mut PyObject,
            args: *mut PyObject,
            kwargs: *mut PyObject,
        ) -> *mut PyObject;
    }
}

// Elsewhere threads are ended without unwinding: nothing to guard.
#[cfg(not(unix))]
use pyo3::ffi as raw;

/// Parks the thread forever when dropped by an unwind; forgotten otherwise.
struct ParkForever;

impl Drop for ParkForever {
    fn drop(&mut self) {
        loop {
            std::thread::park();
        }
    }
}

/// `callable(*args, **kwargs)`.
pub(crate) fn call<'py>(
    callable: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = kwargs.map_or(std::ptr::null_mut(), |kwargs| kwargs.as_ptr());
    let park_if_unwound = ParkForever;
    // SAFETY: attached (`callable` is bound); the pointers are live for the call.
    let result = unsafe { raw::PyObject_Call(callable.as_ptr(), args.as_ptr(), kwargs) };
    std::mem::forget(park_if_unwound);
    // SAFETY: PyObject_Call returns a new reference, or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(callable.py(), result) }
}

/// `object.name(*args)`.
pub(crate) fn call_method<'py>(
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyString>,
    args: impl IntoPyObject<'py, Target = PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = object.py();
    let args = args.into_pyobject(py).map_err(Into::into)?.into_bound();
    call(&object.getattr(name)?, &args, None)
}
