//! A worker as Python sees it: the handle behind `executor._threads`.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use super::wait::wait_releasing_gil;
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
        match timeout {
            None => wait_releasing_gil(py, |slice| handle.join(Some(slice))),
            Some(seconds) => {
                let timeout =
                    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX);
                py.detach(|| handle.join(Some(timeout)));
                Ok(())
            }
        }
    }
}
