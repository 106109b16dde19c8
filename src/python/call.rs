//! One call of the user's function, in its own contextvars context, with a
//! Rust panic turned into a Python exception instead of unwinding further.
//!
//! A task for `submit` runs in a copy of its worker's context: whatever the
//! pool's initializer set there (a `ContextVar`, `decimal`'s context) is
//! visible to every task, as on the stdlib's workers, while a task's own
//! `ContextVar.set` stays in its copy and never reaches the next task.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::panic::PanicException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::context;

pub(crate) struct Call {
    pub func: Py<PyAny>,
    pub args: Py<PyTuple>,
    pub kwargs: Option<Py<PyDict>>,
    /// The context to run in; `None` means a copy of the worker's own.
    pub context: Option<Py<PyAny>>,
}

impl Call {
    /// Runs the call; an exception comes back as its value, traceback attached.
    pub fn invoke(self, py: Python<'_>) -> Result<Py<PyAny>, Py<PyAny>> {
        let outcome = catch_unwind(AssertUnwindSafe(|| self.invoke_in_context(py)));
        let outcome = outcome.unwrap_or_else(|payload| Err(panic_to_pyerr(payload)));
        outcome
            .map(Bound::unbind)
            .map_err(|err| err.into_value(py).into_any())
    }

    fn invoke_in_context(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        let context = match self.context {
            Some(context) => context.into_bound(py),
            None => context::copy_current(py)?,
        };
        context::run_in(
            &context,
            self.func.bind(py),
            self.args.bind(py),
            self.kwargs.as_ref().map(|kwargs| kwargs.bind(py)),
        )
    }
}

/// A Rust panic as the `PanicException` PyO3 raises for panics in calls from Python.
pub(crate) fn panic_to_pyerr(payload: Box<dyn Any + Send>) -> PyErr {
    let message = match (
        payload.downcast_ref::<String>(),
        payload.downcast_ref::<&str>(),
    ) {
        (Some(message), _) => message.clone(),
        (None, Some(message)) => (*message).to_owned(),
        (None, None) => "panic in Rust code".to_owned(),
    };
    PanicException::new_err(message)
}
