//! Blocking waits done without the GIL, in slices, so Ctrl-C still interrupts them.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

const SLICE: Duration = Duration::from_millis(50);

/// Calls `wait_a_slice` (which waits at most the slice it is given and says
/// whether the wait is over) until it returns true, detached from the
/// interpreter, checking for signals between slices.
pub(crate) fn wait_releasing_gil<F>(py: Python<'_>, wait_a_slice: F) -> PyResult<()>
where
    F: Fn(Duration) -> bool + Sync,
{
    wait_releasing_gil_until(py, None, wait_a_slice).map(drop)
}

/// As [`wait_releasing_gil`], giving up at `deadline`: false if it passed first.
pub(crate) fn wait_releasing_gil_until<F>(
    py: Python<'_>,
    deadline: Option<Instant>,
    wait_a_slice: F,
) -> PyResult<bool>
where
    F: Fn(Duration) -> bool + Sync,
{
    loop {
        let slice = deadline.map_or(SLICE, |deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .min(SLICE)
        });
        if py.detach(|| wait_a_slice(slice)) {
            return Ok(true);
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(false);
        }
        py.check_signals()?;
    }
}

/// `seconds` from now as a deadline; `None` (never) past what the clock can
/// represent. Negative, NaN: the stdlib's ValueError.
pub(crate) fn deadline_after_seconds(seconds: f64) -> PyResult<Option<Instant>> {
    let timeout = Duration::try_from_secs_f64(seconds).or_else(|_| {
        if seconds > 0.0 {
            Ok(Duration::MAX)
        } else {
            Err(pyo3::exceptions::PyValueError::new_err(
                "timeout value must be a non-negative number",
            ))
        }
    })?;
    Ok(crate::sync::deadline_after(Some(timeout)))
}
