//! The unit of work the scheduler moves around.

/// Why a queued task was taken out of the pool without running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandoned<'a> {
    /// The pool shut down with `cancel_futures`.
    Cancelled,
    /// The pool can no longer run anything, for the given reason.
    Broken(&'a str),
}

/// A queued piece of work. The scheduler either runs it once or, when it is
/// drained without running (`shutdown(cancel_futures=True)`, a broken pool),
/// tells it why through `abandon`, so its owner can report that.
pub trait Job: Send + 'static {
    fn run(self: Box<Self>);

    fn abandon(self: Box<Self>, _why: Abandoned<'_>) {}
}

pub type Task = Box<dyn Job>;

/// Adapts a closure into a [`Job`], for Rust callers and tests.
pub struct FnJob<F>(pub F);

impl<F: FnOnce() + Send + 'static> Job for FnJob<F> {
    fn run(self: Box<Self>) {
        (self.0)()
    }
}

/// Boxes a closure as a [`Task`].
pub fn task<F: FnOnce() + Send + 'static>(f: F) -> Task {
    Box::new(FnJob(f))
}
