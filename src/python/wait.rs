//! Blocking waits done without the GIL, in slices, so Ctrl-C still interrupts them.

use std::time::Duration;

use pyo3::prelude::*;

const SLICE: Duration = Duration::from_millis(50);

/// Calls `wait_a_slice` (which waits at most the slice it is given and says
/// whether the wait is over) until it returns true, detached from the
/// interpreter, checking for signals between slices.
pub(crate) fn wait_releasing_gil<F>(py: Python<'_>, wait_a_slice: F) -> PyResult<()>
where
    F: Fn(Duration) -> bool + Sync,
{
    loop {
        if py.detach(|| wait_a_slice(SLICE)) {
            return Ok(());
        }
        py.check_signals()?;
    }
}
