//! The synchronisation primitives the scheduler uses, swapped for loom's
//! model-checked versions under `--cfg loom` so the same code is explored
//! exhaustively by `tests/loom_sleep.rs`.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};

/// Locks a mutex, ignoring poisoning: every critical section in the scheduler
/// leaves its data consistent before anything that could panic runs.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
