//! stealpool: a work-stealing thread pool for asyncio's executor slot.
//!
//! `scheduler` is plain Rust; `python` is the thin PyO3 layer over it,
//! compiled only with the `python` feature (maturin enables it).

pub mod scheduler;
mod sync;

#[cfg(feature = "python")]
mod python;
