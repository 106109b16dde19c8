//! Counters behind `stats()`. Relaxed: they are reports, never used to decide anything.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct Counters {
    pub spawned: AtomicU64,
    pub retired: AtomicU64,
    pub completed: AtomicU64,
    pub stolen: AtomicU64,
    pub running: AtomicU64,
    pub panicked: AtomicU64,
}

impl Counters {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A point-in-time view of a pool. Fields are read one by one while the pool
/// runs, so they need not add up exactly in the middle of a burst.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live worker threads.
    pub workers: usize,
    /// Workers searching for work or asleep.
    pub idle: usize,
    /// Tasks queued and not yet started.
    pub queued: usize,
    /// Tasks running now.
    pub running: u64,
    /// Tasks finished (with a result, an exception or a panic).
    pub completed: u64,
    /// Tasks a worker took from a sibling's deque.
    pub stolen: u64,
    /// Threads ever started.
    pub spawned: u64,
    /// Threads that exited after `idle_timeout` without work.
    pub retired: u64,
    /// Tasks whose run panicked in Rust (the worker survived).
    pub panicked: u64,
}

impl std::ops::Add for Stats {
    type Output = Stats;

    fn add(self, other: Stats) -> Stats {
        Stats {
            workers: self.workers + other.workers,
            idle: self.idle + other.idle,
            queued: self.queued + other.queued,
            running: self.running + other.running,
            completed: self.completed + other.completed,
            stolen: self.stolen + other.stolen,
            spawned: self.spawned + other.spawned,
            retired: self.retired + other.retired,
            panicked: self.panicked + other.panicked,
        }
    }
}
