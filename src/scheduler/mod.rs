//! The scheduler, free of Python: `cargo test` and loom check it alone.

mod job;
mod pool;
pub mod sleep;
mod stats;
mod worker_handle;

pub use job::{task, Abandoned, FnJob, Job, Task};
pub use pool::{
    shut_down_every_pool, wait_for_every_pool, Pool, PoolConfig, SubmitError, ThreadMain,
    WorkerContext, DEFAULT_STACK_SIZE,
};
pub use stats::Stats;
pub use worker_handle::WorkerHandle;
