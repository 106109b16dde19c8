//! Behaviour of the scheduler on its own, without Python.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use stealpool::scheduler::{
    task, Job, Pool, PoolConfig, Release, SubmitError, ThreadMain, WorkerContext,
};

/// Every wait in these tests gives up after this: a scheduler bug must show
/// as a failed assertion, never as a test run that hangs.
const BOUND: Duration = Duration::from_secs(10);

/// Holds the tasks that wait on it until it opens (or `BOUND` passes).
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let open = self.open.lock().unwrap();
        drop(
            self.opened
                .wait_timeout_while(open, BOUND, |open| !*open)
                .unwrap(),
        );
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

fn plain_worker_loop() -> ThreadMain {
    Arc::new(|worker: &WorkerContext| loop {
        match worker.next_task_now() {
            Some(task) => worker.run(task),
            None if worker.wait_for_work() => {}
            None => return,
        }
    })
}

fn pool(max_workers: usize, idle_timeout: Option<Duration>) -> Pool {
    Pool::new(
        PoolConfig {
            max_workers,
            idle_timeout,
            thread_name_prefix: "test".into(),
            thread_serials: Default::default(),
            stack_size: 1 << 20,
            workers_set_up: false,
        },
        plain_worker_loop(),
    )
    .unwrap()
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn runs_every_task_exactly_once() {
    let pool = pool(4, None);
    let runs = Arc::new((0..10_000).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
    for i in 0..10_000 {
        let runs = Arc::clone(&runs);
        pool.submit(task(move || {
            runs[i].fetch_add(1, Ordering::SeqCst);
        }))
        .unwrap();
    }
    pool.shutdown();
    assert!(pool.wait_for_workers(Some(BOUND)));
    assert!(runs.iter().all(|count| count.load(Ordering::SeqCst) == 1));
    assert_eq!(pool.stats().completed, 10_000);
}

#[test]
fn starts_no_thread_before_work_and_never_more_than_max_workers() {
    let pool = pool(3, None);
    assert_eq!(pool.stats().workers, 0);
    let gate = Arc::new(Gate::default());
    let blocked = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let (gate, blocked) = (Arc::clone(&gate), Arc::clone(&blocked));
        pool.submit(task(move || {
            blocked.fetch_add(1, Ordering::SeqCst);
            gate.wait();
        }))
        .unwrap();
    }
    for _ in 0..20 {
        pool.submit(task(|| {})).unwrap();
    }
    wait_until("three tasks blocked on three workers", || {
        blocked.load(Ordering::SeqCst) == 3
    });
    assert_eq!(pool.stats().workers, 3);
    assert_eq!(pool.stats().spawned, 3);
    gate.open();
    pool.shutdown();
    assert!(pool.wait_for_workers(Some(BOUND)));
    assert_eq!(pool.stats().completed, 23);
    assert_eq!(pool.stats().spawned, 3);
}

#[test]
fn a_blocked_worker_does_not_strand_its_local_tasks() {
    let pool = Arc::new(pool(2, None));
    let (done_tx, done_rx) = mpsc::channel();
    let inner_pool = Arc::clone(&pool);
    pool.submit(task(move || {
        // Queued on this worker's own deque, then this worker blocks on it:
        // only a sibling stealing it can run it.
        let (tx, rx) = mpsc::channel();
        inner_pool
            .submit(task(move || tx.send(()).unwrap()))
            .unwrap();
        rx.recv_timeout(BOUND).unwrap();
        done_tx.send(()).unwrap();
    }))
    .unwrap();
    done_rx.recv_timeout(BOUND).unwrap();
    assert!(pool.stats().stolen >= 1);
    pool.shutdown();
}

#[test]
fn idle_workers_retire_after_the_timeout() {
    let pool = pool(4, Some(Duration::from_millis(50)));
    let gate = Arc::new(Gate::default());
    let blocked = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let (gate, blocked) = (Arc::clone(&gate), Arc::clone(&blocked));
        pool.submit(task(move || {
            blocked.fetch_add(1, Ordering::SeqCst);
            gate.wait();
        }))
        .unwrap();
    }
    wait_until("two tasks blocked on two workers", || {
        blocked.load(Ordering::SeqCst) == 2
    });
    gate.open();
    wait_until("retirement", || pool.stats().workers == 0);
    assert_eq!(pool.stats().retired, 2);
    // Retired pools start again on demand.
    let (tx, rx) = mpsc::channel();
    pool.submit(task(move || tx.send(7).unwrap())).unwrap();
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), 7);
}

#[test]
fn workers_kept_forever_without_an_idle_timeout() {
    let pool = pool(2, None);
    let (tx, rx) = mpsc::channel();
    pool.submit(task(move || tx.send(()).unwrap())).unwrap();
    rx.recv_timeout(BOUND).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(pool.stats().workers, 1);
    assert_eq!(pool.stats().retired, 0);
}

#[test]
fn shutdown_runs_queued_work_then_refuses_new_work() {
    let pool = pool(1, None);
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let count = Arc::clone(&count);
        pool.submit(task(move || {
            std::thread::sleep(Duration::from_micros(100));
            count.fetch_add(1, Ordering::SeqCst);
        }))
        .unwrap();
    }
    pool.shutdown();
    pool.shutdown();
    assert!(matches!(
        pool.submit(task(|| {})),
        Err(SubmitError::ShutDown(_))
    ));
    assert!(pool.wait_for_workers(Some(BOUND)));
    assert_eq!(count.load(Ordering::SeqCst), 100);
    assert_eq!(pool.stats().workers, 0);
    assert!(pool.workers().is_empty());
}

#[test]
fn drain_hands_back_queued_tasks_unrun() {
    let pool = pool(1, None);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    pool.submit(task(move || {
        started_tx.send(()).unwrap();
        release_rx.recv_timeout(BOUND).unwrap();
    }))
    .unwrap();
    started_rx.recv_timeout(BOUND).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        let ran = Arc::clone(&ran);
        pool.submit(task(move || {
            ran.fetch_add(1, Ordering::SeqCst);
        }))
        .unwrap();
    }
    assert_eq!(pool.stats().queued, 5);
    let drained = pool.drain();
    assert_eq!(drained.len(), 5);
    release_tx.send(()).unwrap();
    pool.shutdown();
    assert!(pool.wait_for_workers(Some(BOUND)));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panicking_task_leaves_the_worker_running() {
    let pool = pool(1, None);
    pool.submit(task(|| panic!("boom"))).unwrap();
    let (tx, rx) = mpsc::channel();
    pool.submit(task(move || tx.send(1).unwrap())).unwrap();
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), 1);
    assert_eq!(pool.stats().panicked, 1);
    assert_eq!(pool.stats().spawned, 1);
}

#[test]
fn shutdown_from_a_worker_does_not_wait_for_itself() {
    let pool = Arc::new(pool(2, None));
    let (tx, rx) = mpsc::channel();
    let inner = Arc::clone(&pool);
    pool.submit(task(move || {
        inner.shutdown();
        tx.send(inner.wait_for_workers(Some(BOUND))).unwrap();
    }))
    .unwrap();
    // Longer than the worker's own wait, so that its answer is what fails.
    assert!(rx.recv_timeout(2 * BOUND).unwrap());
}

#[test]
fn workers_are_named_after_the_prefix() {
    let pool = pool(1, None);
    let (tx, rx) = mpsc::channel();
    pool.submit(task(move || {
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap()
    }))
    .unwrap();
    assert_eq!(rx.recv_timeout(BOUND).unwrap().as_deref(), Some("test_0"));
    assert_eq!(pool.workers()[0].name, "test_0");
}

#[test]
fn many_submitting_threads_lose_nothing() {
    let pool = Arc::new(pool(4, Some(Duration::from_millis(1))));
    let count = Arc::new(AtomicUsize::new(0));
    let submitters: Vec<_> = (0..8)
        .map(|_| {
            let pool = Arc::clone(&pool);
            let count = Arc::clone(&count);
            std::thread::spawn(move || {
                for i in 0..5_000 {
                    let count = Arc::clone(&count);
                    pool.submit(task(move || {
                        count.fetch_add(1, Ordering::SeqCst);
                    }))
                    .unwrap();
                    if i % 1000 == 0 {
                        // Let workers go idle and retire mid-stream.
                        std::thread::sleep(Duration::from_millis(3));
                    }
                }
            })
        })
        .collect();
    for submitter in submitters {
        submitter.join().unwrap();
    }
    wait_until("all tasks", || count.load(Ordering::SeqCst) == 40_000);
    pool.shutdown();
    assert!(pool.wait_for_workers(Some(BOUND)));
}

/// A job that gives its worker back before it publishes its outcome, as the
/// bridge to an event loop does.
struct ReleasingJob(mpsc::Sender<()>);

impl Job for ReleasingJob {
    fn run(self: Box<Self>, release: &Release<'_>) {
        release.worker();
        self.0.send(()).unwrap();
    }
}

/// Strictly sequential calls (each submitted once the previous one's outcome
/// arrived) need one thread: the worker is free before the outcome is out.
#[test]
fn sequential_calls_that_release_their_worker_reuse_one_thread() {
    let pool = pool(8, None);
    let (done, outcome) = mpsc::channel();
    for _ in 0..1000 {
        pool.submit(Box::new(ReleasingJob(done.clone()))).unwrap();
        outcome.recv_timeout(BOUND).unwrap();
    }
    assert_eq!(pool.stats().spawned, 1);
    assert_eq!(pool.stats().completed, 1000);
    pool.shutdown();
    assert!(pool.wait_for_workers(Some(BOUND)));
}
