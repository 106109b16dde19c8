//! What a forked child must not inherit: the Python package replaces every
//! pool after a fork, and bridges made before it are remade; both tell the
//! child from its parent by the scheduler's fork generation.

use pyo3::prelude::*;

use crate::scheduler::fork;

/// Called (through `os.register_at_fork`) in the child, before anything else.
#[pyfunction]
pub(crate) fn after_fork_in_child() {
    fork::after_fork_in_child();
}
