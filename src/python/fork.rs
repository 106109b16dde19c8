//! What a forked child must not inherit.
//!
//! In a child only the forking thread exists: the parent's workers are gone
//! and any lock one of them held stays locked. The Python package replaces
//! every pool after a fork; bridges notice through the epoch and are remade.

use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;

static FORK_EPOCH: AtomicU64 = AtomicU64::new(0);

pub(crate) fn current_fork_epoch() -> u64 {
    FORK_EPOCH.load(Ordering::Acquire)
}

/// Called (through `os.register_at_fork`) in the child, before anything else.
#[pyfunction]
pub(crate) fn after_fork_in_child() {
    FORK_EPOCH.fetch_add(1, Ordering::AcqRel);
}
