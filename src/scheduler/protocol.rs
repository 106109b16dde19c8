//! The rules submitters and workers follow so that every admitted task is
//! run: written once over an abstract set of queues, so that loom checks
//! exactly this code over a model queue (`tests/rust/loom_sleep.rs`) while the
//! pool runs it over crossbeam's deques. The park/wake half lives in
//! [`Sleep`]; this adds admission, growth, and the last look every worker
//! takes on each way out.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use super::admission::Admission;
use super::sleep::{Counts, Notified, Sleep, Woke};
use crate::sync::Backoff;

/// What the protocol needs from the queues and the threads behind them.
pub trait Queues {
    type Task;
    /// What starting a worker yields (its handle).
    type Worker;
    /// Queues a task: on the calling worker's own deque, else globally.
    fn push(&self, task: Self::Task);
    /// One sweep for a task, without waiting.
    fn find_task(&self) -> Option<Self::Task>;
    fn has_work(&self) -> bool;
    /// Starts the thread of a worker the protocol has just counted in.
    fn start_worker(&self) -> io::Result<Self::Worker>;
}

#[derive(Debug)]
pub enum SubmitError<T> {
    /// The pool was shut down; the task is handed back unrun.
    ShutDown(T),
    /// The task is queued, but the thread meant to run it could not start.
    Spawn(io::Error),
}

/// How [`Protocol::wait_for_work`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    /// Work is queued: the worker, still searching, should take it now.
    Work,
    /// Idle for its whole timeout: the worker is counted out.
    Retired,
    /// The pool shut down and the queues are empty: the worker is counted out.
    ShutDown,
}

pub struct Protocol {
    sleep: Sleep,
    admission: Admission,
    /// Settable while the pool runs (the Python class's `_max_workers`);
    /// Relaxed: a submission sees the new bound or the old one, either is fine.
    max_workers: AtomicUsize,
    /// How many searching workers may spin before parking: half the cores.
    spinners: usize,
    idle_timeout: Option<Duration>,
    /// Whether each new worker sets itself up before it can take a task.
    workers_set_up: bool,
}

impl Protocol {
    /// `workers_set_up`: each new worker runs setup of its own (a pool's
    /// initializer) before it can take a task, and calls
    /// [`Protocol::finished_task`] once it is done. Until then it counts as
    /// running, not searching: submitters wake or start no other worker
    /// while one searches, so workers whose setup takes long (or waits for
    /// the other workers' setup) would otherwise start one at a time, where
    /// the stdlib starts a thread for each submission that finds none idle.
    pub fn new(
        max_workers: usize,
        idle_timeout: Option<Duration>,
        workers_set_up: bool,
    ) -> Protocol {
        Protocol {
            sleep: Sleep::default(),
            admission: Admission::default(),
            max_workers: AtomicUsize::new(max_workers),
            spinners: std::thread::available_parallelism()
                .map_or(1, |cores| (cores.get() / 2).max(1)),
            idle_timeout,
            workers_set_up,
        }
    }

    pub fn max_workers(&self) -> usize {
        self.max_workers.load(Relaxed)
    }

    /// Later growth stops at `max_workers`; workers already running stay.
    pub fn set_max_workers(&self, max_workers: usize) {
        self.max_workers.store(max_workers, Relaxed);
    }

    pub fn counts(&self) -> Counts {
        self.sleep.counts()
    }

    pub fn is_closed(&self) -> bool {
        self.admission.is_closed()
    }

    /// Queues `task` and wakes or starts a worker for it. `Ok(Some(worker))`:
    /// this submission started a new worker.
    pub fn submit<Q: Queues>(
        &self,
        queues: &Q,
        task: Q::Task,
    ) -> Result<Option<Q::Worker>, SubmitError<Q::Task>> {
        let Some(_admitted) = self.admission.enter() else {
            return Err(SubmitError::ShutDown(task));
        };
        queues.push(task);
        match self
            .sleep
            .notify(self.max_workers(), self.workers_set_up, || {
                queues.has_work()
            }) {
            Notified::SpawnReserved => match self.start_reserved(queues) {
                Ok(worker) => Ok(Some(worker)),
                Err(error) => {
                    // Others may have counted on the worker that never came.
                    self.look_again_after_leaving(queues);
                    Err(SubmitError::Spawn(error))
                }
            },
            Notified::WokeSleeper | Notified::Nothing => Ok(None),
        }
    }

    /// Refuses new submissions, waits until admitted ones have pushed, then
    /// lets workers drain the queues and leave.
    pub fn close(&self) {
        self.admission.close();
        self.sleep.shut_down();
    }

    /// One sweep for a searching worker; on success the worker is running.
    pub fn next_task_now<Q: Queues>(&self, queues: &Q) -> Option<Q::Task> {
        let task = queues.find_task()?;
        self.sleep.start_running();
        // Submitters stay quiet while someone searches; this worker no longer
        // does, so if more is queued, make sure someone will.
        self.look_again_after_leaving(queues);
        Some(task)
    }

    /// A running worker finished its task (or its setup) and searches again.
    pub fn finished_task(&self) {
        self.sleep.stop_running();
    }

    /// Spins, then parks until work is queued (the worker, still searching,
    /// then takes it with [`Protocol::next_task_now`], which may find it gone
    /// and must wait again), or the worker is counted out and must exit.
    /// Seeing work and taking it are two steps so that a worker can take
    /// tasks only while it holds a lock its tasks need (the GIL).
    pub fn wait_for_work<Q: Queues>(&self, queues: &Q) -> Waited {
        loop {
            let backoff = Backoff::new();
            loop {
                if queues.has_work() {
                    return Waited::Work;
                }
                if backoff.is_completed() || self.too_many_spinning() {
                    break;
                }
                backoff.snooze();
            }
            if self.sleep.is_shut_down() {
                self.leave(queues);
                return Waited::ShutDown;
            }
            match self.sleep.sleep(|| queues.has_work(), self.idle_timeout) {
                Woke::Search => continue,
                // No look needed: a submitter that saw this worker asleep
                // finds it gone under the mutex and decides again.
                Woke::Retired => return Waited::Retired,
            }
        }
    }

    /// Spinning only pays while a core is free to spin on. A pool grown
    /// past the cores (anyio's 40 threads for blocking calls) would
    /// otherwise have dozens of idle workers spinning at once, taking the
    /// cores from the event loop that feeds them; past half the cores the
    /// rest park at once, and a submission wakes them as it would anyway.
    fn too_many_spinning(&self) -> bool {
        self.sleep.counts().searching > self.spinners
    }

    /// A searching worker stops being counted (at shutdown, or because its
    /// thread ends for its own reasons).
    pub fn leave<Q: Queues>(&self, queues: &Q) {
        self.sleep.leave();
        self.look_again_after_leaving(queues);
    }

    /// A running worker stops being counted without searching again.
    pub fn leave_while_running<Q: Queues>(&self, queues: &Q) {
        self.sleep.stop_running();
        self.leave(queues);
    }

    /// A submitter may have seen the worker that just left `searching` (to
    /// run a task, or to leave the pool) as a searcher and relied on it: if
    /// work is queued, notify on its behalf.
    fn look_again_after_leaving<Q: Queues>(&self, queues: &Q) {
        if queues.has_work()
            && self
                .sleep
                .notify(self.max_workers(), self.workers_set_up, || {
                    queues.has_work()
                })
                == Notified::SpawnReserved
        {
            let _ = self.start_reserved(queues);
        }
    }

    fn start_reserved<Q: Queues>(&self, queues: &Q) -> io::Result<Q::Worker> {
        queues.start_worker().inspect_err(|_| self.sleep.leave())
    }
}
