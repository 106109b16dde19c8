//! Interpreter exit: like the stdlib, queued work still runs and every worker
//! is joined before finalization begins, so no worker ever tries to re-attach
//! to a finalizing interpreter (which would kill it mid-frame).

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

use super::wait::wait_releasing_gil;
use crate::scheduler::{shut_down_every_pool, wait_for_every_pool};

static INTERPRETER_EXITING: AtomicBool = AtomicBool::new(false);

pub(crate) fn interpreter_exiting() -> bool {
    INTERPRETER_EXITING.load(Ordering::SeqCst)
}

/// Registered with `threading._register_atexit`: refuses new work, lets every
/// pool finish its queue and joins all workers.
#[pyfunction]
pub(crate) fn shut_down_at_exit(py: Python<'_>) -> PyResult<()> {
    INTERPRETER_EXITING.store(true, Ordering::SeqCst);
    shut_down_every_pool();
    wait_releasing_gil(py, |slice| wait_for_every_pool(Some(slice)))
}
