//! Native functions only the test suite calls. They exist only in builds with
//! the `test-helpers` cargo feature (scripts/lib.sh turns it on), so a
//! release wheel's `_core` never exposes them.

use pyo3::prelude::*;

/// Panics on purpose, so tests can check that a panic in Rust code a task
/// calls lands on that task's future as `PanicException`.
#[pyfunction]
fn panic_for_tests(message: &str) {
    panic!("{message}");
}

pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(panic_for_tests, module)?)
}
