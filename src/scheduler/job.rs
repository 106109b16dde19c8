//! The unit of work the scheduler moves around.

/// Why a queued task was taken out of the pool without running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abandoned<'a> {
    /// The pool shut down with `cancel_futures`.
    Cancelled,
    /// The pool can no longer run anything, for the given reason.
    Broken(&'a str),
}

/// Handed to a running job so it can give its worker back before it
/// publishes its outcome. Whoever that outcome wakes (an event loop awaiting
/// the call) may submit its next call at once; had the worker still counted
/// as busy then, that submission would have started a thread for nothing,
/// and strictly sequential calls would spread over several threads. The
/// scheduler releases the worker after the job in any case; only the first
/// release counts.
pub struct Release<'a>(&'a dyn Fn());

impl<'a> Release<'a> {
    pub fn new(release: &'a dyn Fn()) -> Self {
        Release(release)
    }

    /// The job needs the worker no longer: it may be counted as searching
    /// (and a submitter rely on it for the next task) while the job
    /// finishes publishing. Call it only where no user code runs after it,
    /// so that such a task waits for no more than the publishing itself.
    pub fn worker(&self) {
        (self.0)()
    }
}

/// A queued piece of work. The scheduler either runs it once or, when it is
/// drained without running (`shutdown(cancel_futures=True)`, a broken pool),
/// tells it why through `abandon`, so its owner can report that.
pub trait Job: Send + 'static {
    fn run(self: Box<Self>, release: &Release<'_>);

    fn abandon(self: Box<Self>, _why: Abandoned<'_>) {}
}

pub type Task = Box<dyn Job>;

/// Adapts a closure into a [`Job`], for Rust callers and tests.
pub struct FnJob<F>(pub F);

impl<F: FnOnce() + Send + 'static> Job for FnJob<F> {
    fn run(self: Box<Self>, _release: &Release<'_>) {
        (self.0)()
    }
}

/// Boxes a closure as a [`Task`].
pub fn task<F: FnOnce() + Send + 'static>(f: F) -> Task {
    Box::new(FnJob(f))
}
