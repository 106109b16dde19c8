//! `contextvars` contexts for tasks. The direct C calls (`PyContext_*`) are
//! not in the stable ABI, so an abi3 build (`--features abi3`) goes through
//! the `contextvars` module and `Context.run` instead.

#[cfg(not(feature = "abi3"))]
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::guarded_call;
#[cfg(feature = "abi3")]
use super::names::names;

/// A copy of the calling thread's current context, as `contextvars.copy_context()`.
pub(crate) fn copy_current(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    #[cfg(not(feature = "abi3"))]
    // SAFETY: attached; returns a new reference or NULL with an error set.
    return unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyContext_CopyCurrent()) };
    #[cfg(feature = "abi3")]
    {
        names(py).copy_context.bind(py).call0()
    }
}

/// `context.run(func, *args, **kwargs)`, entered through [`guarded_call`]
/// since it runs the user's code on a worker.
pub(crate) fn run_in<'py>(
    context: &Bound<'py, PyAny>,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    #[cfg(not(feature = "abi3"))]
    {
        // SAFETY: attached, and `context` is a contextvars.Context (a copy or a new one).
        if unsafe { ffi::PyContext_Enter(context.as_ptr()) } != 0 {
            return Err(PyErr::fetch(context.py()));
        }
        let result = guarded_call::call(func, args, kwargs);
        // SAFETY: the same context we entered above, on this thread.
        unsafe { ffi::PyContext_Exit(context.as_ptr()) };
        result
    }
    #[cfg(feature = "abi3")]
    {
        let run_args: Vec<Bound<'py, PyAny>> = std::iter::once(func.clone()).chain(args).collect();
        let run = context.getattr(names(context.py()).run.bind(context.py()))?;
        guarded_call::call(&run, &PyTuple::new(context.py(), run_args)?, kwargs)
    }
}
