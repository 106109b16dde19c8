//! The Python strings and objects the core looks up by name, all made when
//! `_core` is imported.
//!
//! Made lazily (`intern!`, `PyOnceLock::import`), each would be made by the
//! first thread that needs it, and PyO3 makes such a cell detached, so that
//! other threads can wait for it: a fork by another thread in that moment
//! leaves the cell "being made" in the child, whose next use of it then waits
//! forever. Made at import, nothing is left to make once threads exist.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

pub(crate) struct Names {
    pub done: Py<PyString>,
    pub cancel: Py<PyString>,
    pub set_result: Py<PyString>,
    pub set_exception: Py<PyString>,
    pub set_running_or_notify_cancel: Py<PyString>,
    pub create_future: Py<PyString>,
    pub call_soon_threadsafe: Py<PyString>,
    /// Where a loop keeps its completion bridge.
    pub bridge_attribute: Py<PyString>,
    pub cause: Py<PyString>,
    #[cfg(feature = "abi3")]
    pub run: Py<PyString>,
    #[cfg(feature = "abi3")]
    pub instance_dict: Py<PyString>,
    /// `concurrent.futures.thread.BrokenThreadPool`.
    pub broken_thread_pool: Py<PyType>,
    /// `concurrent.futures.InvalidStateError`.
    pub invalid_state_error: Py<PyType>,
    /// `asyncio.futures._convert_future_exc`, where this Python has it
    /// (`stealpool/_internals.py` warns where it does not).
    pub convert_future_exc: Option<Py<PyAny>>,
    /// `contextvars.copy_context`.
    #[cfg(feature = "abi3")]
    pub copy_context: Py<PyAny>,
}

static NAMES: PyOnceLock<Names> = PyOnceLock::new();

/// Called once, by the module's initialization.
pub(crate) fn init(py: Python<'_>) -> PyResult<()> {
    let name = |text: &str| PyString::intern(py, text).unbind();
    let names = Names {
        done: name("done"),
        cancel: name("cancel"),
        set_result: name("set_result"),
        set_exception: name("set_exception"),
        set_running_or_notify_cancel: name("set_running_or_notify_cancel"),
        create_future: name("create_future"),
        call_soon_threadsafe: name("call_soon_threadsafe"),
        bridge_attribute: name("_stealpool_bridge"),
        cause: name("__cause__"),
        #[cfg(feature = "abi3")]
        run: name("run"),
        #[cfg(feature = "abi3")]
        instance_dict: name("__dict__"),
        broken_thread_pool: py
            .import("concurrent.futures.thread")?
            .getattr("BrokenThreadPool")?
            .cast_into::<PyType>()?
            .unbind(),
        invalid_state_error: py
            .import("concurrent.futures")?
            .getattr("InvalidStateError")?
            .cast_into::<PyType>()?
            .unbind(),
        convert_future_exc: py
            .import("asyncio.futures")?
            .getattr_opt("_convert_future_exc")?
            .map(Bound::unbind),
        #[cfg(feature = "abi3")]
        copy_context: py.import("contextvars")?.getattr("copy_context")?.unbind(),
    };
    let _ = NAMES.set(py, names);
    Ok(())
}

pub(crate) fn names(py: Python<'_>) -> &'static Names {
    NAMES
        .get(py)
        .expect("stealpool._core made its names when it was imported")
}
