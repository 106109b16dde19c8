//! The body of every worker thread: attached to the interpreter for its whole
//! life (so its thread state, and `threading.local` data, persist across
//! tasks), detached only while it spins or parks waiting for work.

use std::sync::Arc;

use pyo3::prelude::*;

use super::worker_thread::PyWorkerHandle;
use crate::scheduler::{ThreadMain, WorkerContext};

/// `on_start(handle) -> bool` registers the thread with `threading` and runs
/// the pool's initializer (false: the pool is broken, stop); `on_exit()`
/// unregisters it.
pub(crate) fn python_worker_main(on_start: Py<PyAny>, on_exit: Py<PyAny>) -> ThreadMain {
    Arc::new(move |worker: &WorkerContext| {
        // Not attached when the interpreter is finalizing: such a thread just
        // ends. The exit hook joins workers before finalization, so queued
        // work is never stranded that way.
        Python::try_attach(|py| {
            let handle = PyWorkerHandle {
                handle: Arc::clone(worker.handle()),
            };
            let ready = on_start
                .bind(py)
                .call1((handle,))
                .and_then(|ready| ready.is_truthy());
            match ready {
                Ok(true) => serve(py, worker),
                Ok(false) => {}
                Err(error) => error.write_unraisable(py, None),
            }
            if let Err(error) = on_exit.bind(py).call0() {
                error.write_unraisable(py, None);
            }
        });
    })
}

fn serve(py: Python<'_>, worker: &WorkerContext) {
    loop {
        // Take queued work without giving up the GIL; detach only to wait.
        let task = match worker.next_task_now() {
            Some(task) => task,
            None => match py.detach(|| worker.wait_for_task()) {
                Some(task) => task,
                None => return,
            },
        };
        worker.run(task);
    }
}
