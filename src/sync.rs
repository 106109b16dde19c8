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

/// Waits on `condvar` while `keep_waiting` holds, until `deadline` if any.
/// Returns the guard and whether the wait ended because the condition cleared.
pub(crate) fn wait_while<'a, T>(
    condvar: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<std::time::Instant>,
    mut keep_waiting: impl FnMut(&mut T) -> bool,
) -> (MutexGuard<'a, T>, bool) {
    while keep_waiting(&mut guard) {
        guard = match deadline {
            None => condvar.wait(guard).unwrap_or_else(|p| p.into_inner()),
            Some(deadline) => {
                let now = std::time::Instant::now();
                if now >= deadline {
                    return (guard, false);
                }
                condvar
                    .wait_timeout(guard, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
        };
    }
    (guard, true)
}
