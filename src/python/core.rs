//! `Core`: one pool, as the Python package drives it. The Python class
//! `stealpool.ThreadPoolExecutor` owns one and adds the stdlib's surface.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};

use super::bridge::Bridge;
use super::broken::{break_pool, broken_thread_pool};
use super::call::Call;
use super::context;
use super::exit::interpreter_exiting;
use super::fast_future;
use super::jobs::{AsyncJob, SyncJob};
use super::names::names;
use super::pools::{Pools, PoolsOfWorker};
use super::tracker::Tracker;
use super::wait::wait_releasing_gil;
use super::worker_main::{python_worker_main, WorkerHooks};
use crate::scheduler::{
    Abandoned, Pool, PoolConfig, SubmitError, Task, DEFAULT_STACK_SIZE, MAX_WORKERS_LIMIT,
};

#[pyclass(frozen, module = "stealpool._core")]
pub struct Core {
    pools: Arc<Pools>,
    /// Why the pool can no longer run anything, once an initializer failed;
    /// shared with the workers, which find that out.
    broken: Arc<OnceLock<String>>,
    /// `shutdown` was called (a broken pool is closed too, but not shut down).
    shutdown_called: AtomicBool,
    bridged: Arc<AtomicU64>,
    /// Tasks run, counted by each before it publishes its outcome (see
    /// `jobs::Completion`), so a caller holding a result sees it counted.
    completed: Arc<AtomicU64>,
    /// Workers of the bounded pool waiting for work, shared with them
    /// (`free_workers`): the pool where nested waits' tasks are queued.
    free_workers: Arc<AtomicU64>,
    /// What `submit` returns: `stealpool._future.Future`, handed over by the
    /// Python package (that module imports this one).
    future_class: Py<PyType>,
}

/// Seconds to wait before retiring an idle worker; `None` (never) for no
/// timeout and for timeouts too long to represent, `float('inf')` included.
fn idle_timeout_from_seconds(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    match seconds {
        None => Ok(None),
        Some(seconds) if seconds >= 0.0 => Ok(Duration::try_from_secs_f64(seconds).ok()),
        Some(_) => Err(PyValueError::new_err(
            "idle_timeout must be None or a non-negative number of seconds",
        )),
    }
}

#[pymethods]
impl Core {
    /// `on_worker_start(handle)`, then `initialize() -> bool` (false: the
    /// pool is broken) and `on_worker_exit()` run on every new worker.
    #[new]
    #[pyo3(signature = (*, max_workers, thread_name_prefix, idle_timeout, on_worker_start, initialize, on_worker_exit, future_class, stack_size=0))]
    #[allow(clippy::too_many_arguments)] // one per argument of the Python call
    fn new(
        py: Python<'_>,
        max_workers: usize,
        thread_name_prefix: String,
        idle_timeout: Option<f64>,
        on_worker_start: Py<PyAny>,
        initialize: Option<Py<PyAny>>,
        on_worker_exit: Py<PyAny>,
        future_class: Py<PyType>,
        stack_size: usize,
    ) -> PyResult<Self> {
        let config = PoolConfig {
            // The Python class passes the stdlib's bound as a count of
            // threads (up to sys.maxsize): more than the pool can count is
            // as good as no bound.
            max_workers: max_workers.min(MAX_WORKERS_LIMIT),
            idle_timeout: idle_timeout_from_seconds(idle_timeout)?,
            thread_name_prefix,
            thread_serials: Default::default(),
            stack_size: if stack_size == 0 {
                DEFAULT_STACK_SIZE
            } else {
                stack_size
            },
            workers_set_up: initialize.is_some(),
        };
        let broken = Arc::new(OnceLock::new());
        let pools_of_worker = PoolsOfWorker::default();
        let free_workers = Arc::new(AtomicU64::new(0));
        let hooks = WorkerHooks {
            on_start: on_worker_start,
            initialize,
            on_exit: on_worker_exit,
            broken: Arc::clone(&broken),
            pools: Arc::clone(&pools_of_worker),
            free_workers: Arc::clone(&free_workers),
        };
        let limited_by_caller_config = PoolConfig {
            max_workers: MAX_WORKERS_LIMIT,
            ..config.clone()
        };
        let to_value_error =
            |error: crate::scheduler::ConfigError| PyValueError::new_err(error.to_string());
        let limited_by_caller_hooks = hooks.for_the_other_pool(py);
        let bounded = Pool::new(config, python_worker_main(hooks)).map_err(to_value_error)?;
        let limited_by_caller = Pool::new(
            limited_by_caller_config,
            python_worker_main(limited_by_caller_hooks),
        )
        .map_err(to_value_error)?;
        let pools = Arc::new(Pools {
            bounded,
            limited_by_caller,
        });
        let _ = pools_of_worker.set(Arc::downgrade(&pools));
        Ok(Core {
            pools,
            broken,
            shutdown_called: AtomicBool::new(false),
            bridged: Arc::new(AtomicU64::new(0)),
            completed: Arc::new(AtomicU64::new(0)),
            free_workers,
            future_class,
        })
    }

    #[getter]
    fn max_workers(&self) -> usize {
        self.pools.bounded.max_workers()
    }

    /// As assigning the stdlib's `_max_workers`: later growth stops there.
    #[setter]
    fn set_max_workers(&self, max_workers: usize) {
        self.pools.bounded.set_max_workers(max_workers);
    }

    /// Queues `func(*args, **kwargs)`; returns its `concurrent.futures.Future`.
    #[pyo3(signature = (func, args, kwargs=None, tracker=None))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        func: Py<PyAny>,
        args: Py<PyTuple>,
        kwargs: Option<Py<PyDict>>,
        tracker: Option<&Bound<'py, Tracker>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_accepting(py)?;
        let future = self.future_class.bind(py).call0()?;
        fast_future::prepare(&future)?;
        let job = SyncJob {
            future: future.clone().unbind(),
            call: Call {
                func,
                args,
                kwargs,
                context: None,
            },
            completed: Arc::clone(&self.completed),
            _in_flight: tracker.map(|tracker| tracker.get().enter()),
        };
        self.enqueue(py, &self.pools.bounded, Box::new(job))?;
        Ok(future)
    }

    /// Queues `func(*args, **kwargs)` for `event_loop`; returns an asyncio
    /// future that the loop's bridge resolves. With `copy_context` the call
    /// runs in a copy of the caller's context (as `asyncio.to_thread`).
    /// With `limited_by_caller` the call runs on the pool for calls whose
    /// caller bounds their concurrency itself (anyio's limiter): it starts
    /// at once, on a new thread if none is idle, even past `max_workers`
    /// (see `pools.rs`).
    #[pyo3(signature = (event_loop, func, args, kwargs=None, tracker=None, *, copy_context=true, limited_by_caller=false))]
    #[allow(clippy::too_many_arguments)] // one per argument of the Python call
    fn run<'py>(
        &self,
        py: Python<'py>,
        event_loop: &Bound<'py, PyAny>,
        func: Py<PyAny>,
        args: Py<PyTuple>,
        kwargs: Option<Py<PyDict>>,
        tracker: Option<&Bound<'py, Tracker>>,
        copy_context: bool,
        limited_by_caller: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_accepting(py)?;
        let bridge = Bridge::of(event_loop)?;
        let context = if copy_context {
            Some(context::copy_current(py)?.unbind())
        } else {
            None
        };
        let future = event_loop.call_method0(names(py).create_future.bind(py))?;
        let job = AsyncJob {
            future: future.clone().unbind(),
            bridge: bridge.unbind(),
            call: Call {
                func,
                args,
                kwargs,
                context,
            },
            bridged: Arc::clone(&self.bridged),
            completed: Arc::clone(&self.completed),
            _in_flight: tracker.map(|tracker| tracker.get().enter()),
        };
        let pool = if limited_by_caller {
            &self.pools.limited_by_caller
        } else {
            &self.pools.bounded
        };
        self.enqueue(py, pool, Box::new(job))?;
        Ok(future)
    }

    /// As `Executor.shutdown`: refuse new work; with `cancel_futures`, cancel
    /// what is still queued; with `wait`, join every worker but the caller.
    #[pyo3(signature = (*, wait=true, cancel_futures=false))]
    fn shutdown(&self, py: Python<'_>, wait: bool, cancel_futures: bool) -> PyResult<()> {
        self.shutdown_called.store(true, Ordering::SeqCst);
        self.pools.shutdown();
        if cancel_futures {
            for task in self.pools.drain() {
                task.abandon(Abandoned::Cancelled);
            }
        }
        if wait {
            let pools = &self.pools;
            wait_releasing_gil(py, |slice| pools.wait_for_workers(Some(slice)))?;
        }
        Ok(())
    }

    /// Marks the pool broken (as a forked child does for a pool that was
    /// broken in its parent): queued work and later submissions fail with
    /// `BrokenThreadPool(reason)`.
    fn break_pool(&self, reason: String) {
        break_pool(&self.broken, reason, self.pools.shut_down_and_drain());
    }

    #[getter]
    fn broken(&self) -> Option<&str> {
        self.broken.get().map(String::as_str)
    }

    #[getter]
    fn is_shut_down(&self) -> bool {
        self.shutdown_called.load(Ordering::SeqCst)
    }

    /// Whether `submit` and `run` would queue work now: the pool is neither
    /// broken nor shut down, by `shutdown` or by the interpreter's exit.
    #[getter]
    fn accepting(&self) -> bool {
        !self.closed()
    }

    /// What `submit` and `run` raise once the pool no longer accepts work,
    /// for callers that find that out before calling them.
    #[pyo3(name = "refusal")]
    fn refusal_exception(&self, py: Python<'_>) -> Py<PyBaseException> {
        self.refusal(py).into_value(py)
    }

    /// Workers that may pick up a queued task now: those waiting for work,
    /// and those that just took a task and wait for the GIL to begin it (a
    /// task's future stays pending until then, while `stats()` already
    /// counts the worker running). A nested wait that any of several
    /// futures can end leaves its tasks to them (see `_nested.py`).
    #[getter]
    fn free_workers(&self) -> u64 {
        self.free_workers.load(Ordering::SeqCst)
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.pools.stats();
        let snapshot = PyDict::new(py);
        snapshot.set_item("workers", stats.workers)?;
        snapshot.set_item("idle", stats.idle)?;
        snapshot.set_item("queued", stats.queued)?;
        snapshot.set_item("running", stats.running)?;
        snapshot.set_item("completed", self.completed.load(Ordering::Relaxed))?;
        snapshot.set_item("stolen", stats.stolen)?;
        snapshot.set_item("spawned", stats.spawned)?;
        snapshot.set_item("retired", stats.retired)?;
        snapshot.set_item("panicked", stats.panicked)?;
        snapshot.set_item("bridged", self.bridged.load(Ordering::Relaxed))?;
        Ok(snapshot)
    }
}

impl Core {
    fn check_accepting(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed() {
            return Err(self.refusal(py));
        }
        Ok(())
    }

    fn closed(&self) -> bool {
        self.broken.get().is_some() || interpreter_exiting() || self.pools.is_shut_down()
    }

    /// Why the pool refuses work, in the stdlib's words.
    fn refusal(&self, py: Python<'_>) -> PyErr {
        if let Some(reason) = self.broken.get() {
            return broken_thread_pool(py, reason);
        }
        // The exit hook closes every pool too: only `shutdown` is reported as such.
        if !self.shutdown_called.load(Ordering::SeqCst) && interpreter_exiting() {
            return PyRuntimeError::new_err(
                "cannot schedule new futures after interpreter shutdown",
            );
        }
        PyRuntimeError::new_err("cannot schedule new futures after shutdown")
    }

    /// Queues `task`. When the pool starts a thread for it, waits (without
    /// the GIL) until that thread is registered, as `Thread.start` does, so
    /// `_threads` counts it once `submit` returns.
    fn enqueue(&self, py: Python<'_>, pool: &Pool, task: Task) -> PyResult<()> {
        match pool.submit(task) {
            Ok(None) => Ok(()),
            Ok(Some(started)) => {
                py.detach(|| started.wait_started(None));
                Ok(())
            }
            Err(SubmitError::ShutDown(_task)) => Err(self.refusal(py)),
            Err(SubmitError::Spawn(error)) => {
                // The stdlib's words; the task stays queued for the workers there are.
                let refused = PyRuntimeError::new_err("can't start new thread");
                refused.set_cause(py, Some(error.into()));
                Err(refused)
            }
        }
    }
}
