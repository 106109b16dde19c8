//! A worker as Python sees it: the handle behind `executor._threads`.

use std::sync::Arc;

use pyo3::prelude::*;

use super::wait::{deadline_after_seconds, wait_releasing_gil_until};
use crate::scheduler::WorkerHandle;

#[pyclass(frozen, module = "stealpool._core", name = "WorkerHandle")]
pub struct PyWorkerHandle {
    pub(crate) handle: Arc<WorkerHandle>,
}

#[pymethods]
impl PyWorkerHandle {
    #[getter]
    fn name(&self) -> &str {
        &self.handle.name
    }

    fn is_alive(&self) -> bool {
        self.handle.is_alive()
    }

    /// Waits for the thread to end, or for `timeout` seconds; Ctrl-C interrupts it.
    #[pyo3(signature = (timeout=None))]
    fn join(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let handle = &self.handle;
        let deadline = match timeout {
            Some(seconds) => deadline_after_seconds(seconds.max(0.0))?,
            None => None,
        };
        wait_releasing_gil_until(py, deadline, |slice| handle.join(Some(slice))).map(drop)
    }
}
