//! The scheduler, free of Python: `cargo test` checks it alone, and loom
//! checks the protocol half (`admission`, `protocol`, `sleep`) over a model
//! queue, since the pool's deques and threads are not loom's.

mod admission;
#[cfg(not(loom))]
pub mod fork;
pub mod protocol;
pub mod sleep;

pub use sleep::MAX_WORKERS_LIMIT;

#[cfg(not(loom))]
mod job;
#[cfg(not(loom))]
mod pool;
#[cfg(not(loom))]
mod stats;
#[cfg(not(loom))]
mod worker_handle;

#[cfg(not(loom))]
pub use job::{task, Abandoned, FnJob, Job, Release, Task};
#[cfg(not(loom))]
pub use pool::{
    shut_down_every_pool, wait_for_every_pool, ConfigError, Pool, PoolConfig, SubmitError,
    ThreadMain, WorkerContext, DEFAULT_STACK_SIZE,
};
#[cfg(not(loom))]
pub use stats::Stats;
#[cfg(not(loom))]
pub use worker_handle::WorkerHandle;
