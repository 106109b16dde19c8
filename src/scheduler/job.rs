//! The unit of work the scheduler moves around.

/// A queued piece of work. The scheduler either runs it once or, when it is
/// drained without running (`shutdown(cancel_futures=True)`, a broken pool),
/// hands it back to its owner, who decides how to report that.
pub trait Job: Send + 'static {
    fn run(self: Box<Self>);
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
