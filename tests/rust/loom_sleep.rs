//! Model checks of the submit/park/wake/leave protocol in
//! `scheduler::protocol` (and `sleep`, `admission` beneath it), run over a
//! model queue. Run with
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom_sleep`.
//!
//! Every model ends the same way: close the pool, join every thread the
//! protocol started, and count. A task the protocol stranded (queued, with
//! no worker left that will look for it) shows up as a task never run; a
//! lost wake-up shows up as a deadlock, which loom reports as a failure.
#![cfg(loom)]

use std::io;
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use stealpool::scheduler::protocol::{Protocol, Queues, SubmitError, Waited};

struct Model {
    protocol: Protocol,
    queued: AtomicUsize,
    done: AtomicUsize,
    /// How many of the next workers end before serving (a failed initializer).
    failing_starts: AtomicUsize,
    /// Workers ever started.
    started: AtomicUsize,
    /// Tasks run by any worker but the first one started.
    done_by_later_workers: AtomicUsize,
    /// Whether a worker counts itself as searching before it publishes the
    /// task's outcome (`done`), as a job resolved through the asyncio bridge
    /// does, rather than after.
    released_before_publishing: bool,
    /// Whether the first worker's first task blocks until a later worker
    /// has run a task, as a call waiting on one queued behind it does.
    first_task_waits_for_a_later_worker: AtomicUsize,
    /// Whether each worker sets itself up before serving (a pool's
    /// initializer), the first one waiting until a later one has.
    workers_set_up: bool,
    a_later_worker_set_up: Mutex<bool>,
    a_later_worker_ran: Mutex<bool>,
    a_later_worker_ran_signal: Condvar,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
}

/// The model's queues: a count of queued tasks, and loom threads as workers.
#[derive(Clone)]
struct ModelQueues(Arc<Model>);

impl Queues for ModelQueues {
    type Task = ();
    type Worker = ();

    fn push(&self, _task: ()) {
        self.0.queued.fetch_add(1, Ordering::SeqCst);
    }

    fn find_task(&self) -> Option<()> {
        let queued = &self.0.queued;
        let mut count = queued.load(Ordering::SeqCst);
        while count > 0 {
            match queued.compare_exchange(count, count - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Some(()),
                Err(actual) => count = actual,
            }
        }
        None
    }

    fn has_work(&self) -> bool {
        self.0.queued.load(Ordering::SeqCst) > 0
    }

    fn start_worker(&self) -> io::Result<()> {
        let first = self.0.started.fetch_add(1, Ordering::SeqCst) == 0;
        let queues = self.clone();
        let worker = thread::spawn(move || queues.work(first));
        self.0.threads.lock().unwrap().push(worker);
        Ok(())
    }
}

impl ModelQueues {
    fn new(max_workers: usize, idle_timeout: Option<Duration>) -> ModelQueues {
        Self::with_release_order(max_workers, idle_timeout, false)
    }

    /// Workers that set themselves up first, the first waiting for a later one's setup.
    fn setting_up(max_workers: usize) -> ModelQueues {
        Self::built(max_workers, None, false, true)
    }

    fn with_release_order(
        max_workers: usize,
        idle_timeout: Option<Duration>,
        released_before_publishing: bool,
    ) -> ModelQueues {
        Self::built(max_workers, idle_timeout, released_before_publishing, false)
    }

    fn built(
        max_workers: usize,
        idle_timeout: Option<Duration>,
        released_before_publishing: bool,
        workers_set_up: bool,
    ) -> ModelQueues {
        ModelQueues(Arc::new(Model {
            protocol: Protocol::new(max_workers, idle_timeout, workers_set_up),
            queued: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            failing_starts: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            done_by_later_workers: AtomicUsize::new(0),
            released_before_publishing,
            first_task_waits_for_a_later_worker: AtomicUsize::new(0),
            workers_set_up,
            a_later_worker_set_up: Mutex::new(false),
            a_later_worker_ran: Mutex::new(false),
            a_later_worker_ran_signal: Condvar::new(),
            threads: Mutex::new(Vec::new()),
        }))
    }

    fn protocol(&self) -> &Protocol {
        &self.0.protocol
    }

    /// The worker body, as the Python layer's: take work without waiting,
    /// wait only when there is none, run, repeat.
    fn work(&self, first: bool) {
        let protocol = self.protocol();
        let failing = self
            .0
            .failing_starts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            if self.0.workers_set_up {
                protocol.leave_while_running(self);
            } else {
                protocol.leave(self);
            }
            return;
        }
        if self.0.workers_set_up {
            self.set_up(first);
        }
        loop {
            // A model task is `()`: taking one is all there is to it.
            if protocol.next_task_now(self).is_none() {
                match protocol.wait_for_work(self) {
                    // Seen, not yet taken: as a Python worker that must
                    // first take the GIL, another worker may take it first.
                    Waited::Work => continue,
                    Waited::Retired | Waited::ShutDown => return,
                }
            }
            if !first {
                self.0.done_by_later_workers.fetch_add(1, Ordering::SeqCst);
                *self.0.a_later_worker_ran.lock().unwrap() = true;
                self.0.a_later_worker_ran_signal.notify_all();
            } else if self
                .0
                .first_task_waits_for_a_later_worker
                .swap(0, Ordering::SeqCst)
                == 1
            {
                let mut ran = self.0.a_later_worker_ran.lock().unwrap();
                while !*ran {
                    ran = self.0.a_later_worker_ran_signal.wait(ran).unwrap();
                }
            }
            if self.0.released_before_publishing {
                protocol.finished_task();
                self.0.done.fetch_add(1, Ordering::SeqCst);
            } else {
                self.0.done.fetch_add(1, Ordering::SeqCst);
                protocol.finished_task();
            }
        }
    }

    /// The setup `Pool`'s workers run through `WorkerContext::setting_up`.
    fn set_up(&self, first: bool) {
        let protocol = self.protocol();
        let mut set_up = self.0.a_later_worker_set_up.lock().unwrap();
        if first {
            while !*set_up {
                set_up = self.0.a_later_worker_ran_signal.wait(set_up).unwrap();
            }
        } else {
            *set_up = true;
            self.0.a_later_worker_ran_signal.notify_all();
        }
        drop(set_up);
        protocol.finished_task();
    }

    /// Submits one task; true if it was admitted.
    fn submit(&self) -> bool {
        match self.protocol().submit(self, ()) {
            Ok(_) => true,
            Err(SubmitError::ShutDown(())) => false,
            Err(SubmitError::Spawn(error)) => panic!("model workers always start: {error}"),
        }
    }

    /// Closes the pool, joins every worker ever started, and returns how many
    /// tasks ran; asserts nothing admitted was left queued.
    fn close_and_count(&self) -> usize {
        self.protocol().close();
        loop {
            let next = self.0.threads.lock().unwrap().pop();
            match next {
                Some(worker) => worker.join().unwrap(),
                None => break,
            }
        }
        assert_eq!(
            self.0.queued.load(Ordering::SeqCst),
            0,
            "an admitted task was stranded"
        );
        assert_eq!(self.protocol().counts().workers, 0);
        self.0.done.load(Ordering::SeqCst)
    }
}

/// Preemption bounds keep each model to seconds in CI; the bugs this guards
/// against (a missed wake-up or last look between two steps) need only one or two.
fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(f);
}

fn spawn_submitter(queues: &ModelQueues) -> thread::JoinHandle<bool> {
    let queues = queues.clone();
    thread::spawn(move || queues.submit())
}

#[test]
fn a_submission_always_reaches_a_sleeping_worker() {
    model(3, || {
        let queues = ModelQueues::new(1, None);
        assert!(queues.submit());
        let late = spawn_submitter(&queues);
        assert!(late.join().unwrap());
        // Without closing first: a lost wake-up leaves this waiting forever.
        while queues.0.done.load(Ordering::SeqCst) < 2 {
            thread::yield_now();
        }
        assert_eq!(queues.close_and_count(), 2);
    });
}

#[test]
fn two_submitters_two_workers_lose_nothing() {
    model(2, || {
        let queues = ModelQueues::new(2, None);
        let first = spawn_submitter(&queues);
        assert!(queues.submit());
        assert!(first.join().unwrap());
        while queues.0.done.load(Ordering::SeqCst) < 2 {
            thread::yield_now();
        }
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// Defect 2a: a worker whose thread ends before it serves (its initializer
/// failed) was counted as searching, so a concurrent submitter relied on it.
#[test]
fn a_worker_ending_before_it_serves_strands_nothing() {
    model(3, || {
        let queues = ModelQueues::new(1, None);
        queues.0.failing_starts.store(1, Ordering::SeqCst);
        let other = spawn_submitter(&queues);
        assert!(queues.submit());
        assert!(other.join().unwrap());
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// Defect 2b: `shutdown` right after a submission, while the only worker is
/// between its last sweep and its shutdown check.
#[test]
fn shutdown_racing_the_last_search_strands_nothing() {
    model(3, || {
        let queues = ModelQueues::new(1, None);
        assert!(queues.submit());
        let submit_then_close = {
            let queues = queues.clone();
            thread::spawn(move || {
                let admitted = queues.submit();
                queues.protocol().close();
                admitted
            })
        };
        assert!(submit_then_close.join().unwrap());
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// A worker retiring at the moment work arrives (an idle timeout of zero
/// makes every park a retirement unless a wake token is already there).
#[test]
fn a_worker_retiring_as_work_arrives_strands_nothing() {
    model(3, || {
        let queues = ModelQueues::new(1, Some(Duration::ZERO));
        assert!(queues.submit());
        let late = spawn_submitter(&queues);
        assert!(late.join().unwrap());
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// Submitters stay quiet while a worker searches, leaving a second worker to
/// the one that takes a task with more queued: all three tasks run and the
/// pool never grows past its limit. That the second worker starts at all
/// is not checked here (one worker can run all three): the next model is
/// the one that needs it.
#[test]
fn leftover_work_gets_a_second_worker() {
    model(2, || {
        let queues = ModelQueues::new(2, None);
        assert!(queues.submit());
        assert!(queues.submit());
        assert!(queues.submit());
        assert!(queues.protocol().counts().workers <= 2);
        while queues.0.done.load(Ordering::SeqCst) < 3 {
            thread::yield_now();
        }
        assert_eq!(queues.close_and_count(), 3);
    });
}

/// The one path to a second worker: submitters stayed quiet while the
/// first worker searched, so only its look at the leftover after taking
/// the first task starts the worker that runs the second. If that look
/// were missing or found nothing to do, the first task would wait forever
/// (loom reports the deadlock).
#[test]
fn a_task_waiting_on_one_queued_behind_it_gets_that_one_a_worker() {
    model(2, || {
        let queues = ModelQueues::new(2, None);
        queues
            .0
            .first_task_waits_for_a_later_worker
            .store(1, Ordering::SeqCst);
        assert!(queues.submit());
        assert!(queues.submit());
        wait_until_done(&queues, 2);
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// Workers whose setup waits for each other (an initializer meeting at a
/// barrier) all start: a worker setting up counts as running, so a
/// submission made meanwhile starts another rather than count on it.
#[test]
fn workers_setting_up_do_not_hold_back_the_next_one() {
    model(2, || {
        let queues = ModelQueues::setting_up(2);
        assert!(queues.submit());
        assert!(queues.submit());
        wait_until_done(&queues, 2);
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// The submit/close handshake: a submission racing `close` is either refused
/// or run, never admitted and dropped.
#[test]
fn a_submission_racing_close_is_refused_or_run() {
    model(3, || {
        let queues = ModelQueues::new(1, None);
        let racing = spawn_submitter(&queues);
        queues.protocol().close();
        let admitted = racing.join().unwrap();
        assert_eq!(queues.close_and_count(), usize::from(admitted));
    });
}

fn wait_until_done(queues: &ModelQueues, count: usize) {
    while queues.0.done.load(Ordering::SeqCst) < count {
        thread::yield_now();
    }
}

/// A worker that counts itself free before publishing its outcome: whoever
/// the outcome wakes and submits again finds it (searching or asleep), so
/// strictly sequential calls start one thread and all run on it, and
/// nothing is stranded: also when the worker takes the new task between
/// its push and the submitter's look at the counts.
#[test]
fn releasing_before_publishing_reuses_the_worker_and_strands_nothing() {
    model(3, || {
        let queues = ModelQueues::with_release_order(2, None, true);
        assert!(queues.submit());
        wait_until_done(&queues, 1);
        let next = spawn_submitter(&queues);
        assert!(next.join().unwrap());
        wait_until_done(&queues, 2);
        assert_eq!(queues.0.started.load(Ordering::SeqCst), 1);
        assert_eq!(queues.0.done_by_later_workers.load(Ordering::SeqCst), 0);
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// The same reordering against retirement (idle timeout zero) and a
/// submission racing the worker's way back to its search.
#[test]
fn releasing_before_publishing_while_retiring_strands_nothing() {
    model(3, || {
        let queues = ModelQueues::with_release_order(1, Some(Duration::ZERO), true);
        assert!(queues.submit());
        let racing = spawn_submitter(&queues);
        assert!(racing.join().unwrap());
        assert_eq!(queues.close_and_count(), 2);
    });
}

/// Two tasks submitted to sleeping workers start no third worker: a
/// claimed sleeper counts as searching before it wakes (else the first to
/// wake, seeing the other's task queued and nobody searching or asleep,
/// starts a thread for it). anyio's calls, each holding a limiter token,
/// once ran on more threads than tokens.
#[test]
fn claimed_sleepers_start_no_thread_for_each_others_task() {
    model(2, || {
        let queues = ModelQueues::new(3, None);
        assert!(queues.submit());
        assert!(queues.submit());
        wait_until_done(&queues, 2);
        // One or two workers, all counted asleep (one may not be waiting yet).
        while queues.protocol().counts().unclaimed < queues.protocol().counts().workers {
            thread::yield_now();
        }
        assert!(queues.submit());
        assert!(queues.submit());
        wait_until_done(&queues, 4);
        // Two tasks at once need two workers at most.
        assert!(queues.0.started.load(Ordering::SeqCst) <= 2);
        assert_eq!(queues.close_and_count(), 4);
    });
}
