//! The body of every worker thread: attached to the interpreter for its whole
//! life (so its thread state, and `threading.local` data, persist across
//! tasks), detached only while it spins or parks waiting for work.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::broken::{break_pool, BROKEN_BY_INITIALIZER};
use super::guarded_call;
use super::pools::PoolsOfWorker;
use super::worker_thread::PyWorkerHandle;
use crate::scheduler::{ThreadMain, WorkerContext};

/// The Python side of a worker's life.
pub(crate) struct WorkerHooks {
    /// `on_start(handle)` registers the thread with `threading`; the thread
    /// counts as started once it returns.
    pub on_start: Py<PyAny>,
    /// `initialize() -> bool` runs the pool's initializer; false: it failed,
    /// and the worker breaks the pool (whether or not its executor object
    /// still exists) and stops.
    pub initialize: Option<Py<PyAny>>,
    /// `on_exit()` unregisters the thread.
    pub on_exit: Py<PyAny>,
    /// The pool's broken state, shared with its `Core`.
    pub broken: Arc<OnceLock<String>>,
    /// Both pools of the executor, which a failed initializer breaks.
    pub pools: PoolsOfWorker,
    /// Workers of this pool between tasks without the GIL (waiting for
    /// work, or offering the GIL), shared with the `Core`.
    pub free_workers: Arc<AtomicU64>,
}

impl WorkerHooks {
    /// The same hooks for the executor's other pool, whose free workers are
    /// counted apart: a nested waiter needs a worker of the pool its task is
    /// queued on, and no worker of the other pool can take it.
    pub fn for_the_other_pool(&self, py: Python<'_>) -> WorkerHooks {
        WorkerHooks {
            on_start: self.on_start.clone_ref(py),
            initialize: self.initialize.as_ref().map(|hook| hook.clone_ref(py)),
            on_exit: self.on_exit.clone_ref(py),
            broken: Arc::clone(&self.broken),
            pools: Arc::clone(&self.pools),
            free_workers: Arc::default(),
        }
    }

    /// The executor can run nothing more: shut both its pools down and fail
    /// what they hold (this worker's own pool alone once the executor is gone).
    fn break_every_pool(&self, worker: &WorkerContext) {
        let drained = match self.pools.get().and_then(Weak::upgrade) {
            Some(pools) => pools.shut_down_and_drain(),
            None => worker.shut_down_and_drain(),
        };
        break_pool(&self.broken, BROKEN_BY_INITIALIZER.to_owned(), drained);
    }
}

/// Python objects a worker thread may be the last to hold, after it has left
/// the interpreter for good. A `Py` dropped there queues its decref under a
/// PyO3 lock, and a fork in that moment leaves the lock held in the child,
/// whose next call into PyO3 then waits forever. So they are released with
/// the interpreter attached, or leaked if it is finalizing.
struct ReleasedAttached<T>(ManuallyDrop<T>);

impl<T> Drop for ReleasedAttached<T> {
    fn drop(&mut self) {
        let objects = &mut self.0;
        // SAFETY: dropped exactly once, here, and never used again.
        let _ = Python::try_attach(|_py| unsafe { ManuallyDrop::drop(objects) });
    }
}

pub(crate) fn python_worker_main(hooks: WorkerHooks) -> ThreadMain {
    let hooks = ReleasedAttached(ManuallyDrop::new(hooks));
    Arc::new(move |worker: &WorkerContext| {
        let hooks = &*hooks.0;
        // Not attached when the interpreter is finalizing: such a thread just
        // ends. The exit hook joins workers before finalization, so queued
        // work is never stranded that way.
        Python::try_attach(|py| {
            let handle = PyWorkerHandle {
                handle: Arc::clone(worker.handle()),
            };
            let registered = PyTuple::new(py, [handle])
                .and_then(|args| guarded_call::call(hooks.on_start.bind(py), &args, None));
            if let Err(error) = registered {
                error.write_unraisable(py, None);
            }
            worker.announce_started();
            let ready = match &hooks.initialize {
                None => Ok(true),
                Some(initialize) => worker.setting_up(|| {
                    guarded_call::call(initialize.bind(py), &PyTuple::empty(py), None)
                        .and_then(|ready| ready.is_truthy())
                }),
            };
            match ready {
                Ok(true) => serve(py, worker, &hooks.free_workers),
                Ok(false) => hooks.break_every_pool(worker),
                Err(error) => error.write_unraisable(py, None),
            }
            if let Err(error) =
                guarded_call::call(hooks.on_exit.bind(py), &PyTuple::empty(py), None)
            {
                error.write_unraisable(py, None);
            }
        });
    })
}

fn serve(py: Python<'_>, worker: &WorkerContext, free_workers: &AtomicU64) {
    let offer_interval = 2 * switch_interval(py);
    let mut holding_since = Instant::now();
    loop {
        // Tasks are taken only with the GIL held, and the GIL is given up
        // only to wait: a worker waiting for the GIL holds no task that
        // the worker running Python could have run next (see
        // `scheduler::sleep`).
        let Some(task) = worker.next_task_now() else {
            if !wait_for_work(py, worker, free_workers) {
                return;
            }
            holding_since = Instant::now();
            continue;
        };
        worker.run(task);
        if holding_since.elapsed() >= offer_interval {
            // Tasks that run no bytecode (C functions) never reach the
            // interpreter's own switch check, so the worker offers the GIL
            // itself. Every offer counts as a switch, and a waiting thread
            // asks for the GIL only after a whole interval with no switch:
            // offering once per interval would keep it from ever asking, and
            // the releasing thread would win every race to take the GIL back.
            // Offered every two intervals, a waiter's request is seen (by the
            // interpreter in the next task, or by this offer, which then
            // hands the GIL over), and nothing waits more than three. Between
            // tasks, the worker is as free as one waiting for work.
            free_workers.fetch_add(1, Ordering::SeqCst);
            py.detach(|| ());
            free_workers.fetch_sub(1, Ordering::SeqCst);
            holding_since = Instant::now();
        }
    }
}

/// Waits for work without the GIL, counted free from before it lets the
/// GIL go until it holds the GIL again (and has taken no task yet).
fn wait_for_work(py: Python<'_>, worker: &WorkerContext, free_workers: &AtomicU64) -> bool {
    free_workers.fetch_add(1, Ordering::SeqCst);
    let work = py.detach(|| worker.wait_for_work());
    free_workers.fetch_sub(1, Ordering::SeqCst);
    work
}

/// `sys.getswitchinterval()`, read when the worker starts.
fn switch_interval(py: Python<'_>) -> Duration {
    py.import("sys")
        .and_then(|sys| sys.call_method0("getswitchinterval"))
        .and_then(|seconds| seconds.extract::<f64>())
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .unwrap_or(Duration::from_millis(5))
}
