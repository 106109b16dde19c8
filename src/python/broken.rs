//! A pool's broken state: set once, by the first worker whose initializer
//! failed (or by a forked child copying its parent's), and read by the `Core`
//! that refuses new work and by the jobs that fail on it.

use std::sync::OnceLock;

use pyo3::prelude::*;

use super::names::names;
use crate::scheduler::{Abandoned, Task};

/// Why a pool whose initializer failed is broken: the stdlib's words.
pub(crate) const BROKEN_BY_INITIALIZER: &str =
    "A thread initializer failed, the thread pool is not usable anymore";

/// Records why the pool is broken (the first reason stays) and fails the
/// tasks it held, which `drained` took out after closing the pool.
pub(crate) fn break_pool(broken: &OnceLock<String>, reason: String, drained: Vec<Task>) {
    let reason = broken.get_or_init(|| reason);
    for task in drained {
        task.abandon(Abandoned::Broken(reason));
    }
}

/// `concurrent.futures.thread.BrokenThreadPool(reason)`.
pub(crate) fn broken_thread_pool(py: Python<'_>, reason: &str) -> PyErr {
    PyErr::from_type(
        names(py).broken_thread_pool.bind(py).clone(),
        reason.to_owned(),
    )
}
