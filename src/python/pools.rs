//! The two pools behind one executor.
//!
//! `bounded` runs what the executor's own API submits (`submit`, `map`,
//! `run_in_executor`, `asyncio.to_thread`): at most `max_workers` threads,
//! as the stdlib. `limited_by_caller` runs calls whose caller already
//! limits how many run at once and expects each admitted call to start at
//! once: anyio's `to_thread.run_sync`, which holds a `CapacityLimiter`
//! token (40 by default, resizable at any time) for the whole call. Its
//! thread bound is only the scheduler's own limit, so it never starves an
//! admitted call (ten calls meeting at a ten-party barrier all run), and
//! it cannot oversubscribe beyond what the caller's limiter admits: it
//! starts a thread only while a call is queued and every worker runs
//! another, and each of those calls holds a token. The pools never share a queue, so a backlog of
//! bounded work never delays a limited call, and limited calls never lift
//! the bounded pool past `max_workers`. Both start threads on demand and
//! retire them after the same `idle_timeout`, and share the same hooks
//! (naming, initializer, `threading` registration).

use std::sync::{Arc, OnceLock, Weak};

use crate::scheduler::{Pool, Stats, Task};

pub(crate) struct Pools {
    pub bounded: Pool,
    pub limited_by_caller: Pool,
}

/// How a worker reaches both pools when it must break them (its
/// initializer failed): set once the pools exist, weak so that the workers'
/// hooks, which the pools own, keep neither alive.
pub(crate) type PoolsOfWorker = Arc<OnceLock<Weak<Pools>>>;

impl Pools {
    fn each(&self) -> [&Pool; 2] {
        [&self.bounded, &self.limited_by_caller]
    }

    pub fn shutdown(&self) {
        self.each().into_iter().for_each(Pool::shutdown);
    }

    pub fn is_shut_down(&self) -> bool {
        self.bounded.is_shut_down()
    }

    /// Takes every queued task out of both pools, unrun.
    pub fn drain(&self) -> Vec<Task> {
        self.each().into_iter().flat_map(Pool::drain).collect()
    }

    /// Shuts both pools down and takes every queued task out, unrun.
    pub fn shut_down_and_drain(&self) -> Vec<Task> {
        self.each()
            .into_iter()
            .flat_map(Pool::shut_down_and_drain)
            .collect()
    }

    /// Waits for the workers of both pools (see [`Pool::wait_for_workers`]);
    /// `timeout` applies to each.
    pub fn wait_for_workers(&self, timeout: Option<std::time::Duration>) -> bool {
        self.each()
            .into_iter()
            .all(|pool| pool.wait_for_workers(timeout))
    }

    /// Both pools' figures, added up: to a user they are one executor.
    pub fn stats(&self) -> Stats {
        self.bounded.stats() + self.limited_by_caller.stats()
    }
}
