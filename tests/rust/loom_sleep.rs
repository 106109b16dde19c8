//! Model checks of the park/wake and shutdown protocol in `scheduler::sleep`.
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom_sleep`.
//! A lost wake-up shows up as a deadlock, which loom reports as a failure.
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use stealpool::scheduler::sleep::{Notified, Sleep, Woke};

/// A stand-in for the deques: a count of queued jobs.
struct Model {
    sleep: Sleep,
    queued: AtomicUsize,
    done: AtomicUsize,
}

impl Model {
    fn new() -> Arc<Model> {
        Arc::new(Model {
            sleep: Sleep::default(),
            queued: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        })
    }

    fn take_job(&self) -> bool {
        let mut queued = self.queued.load(Ordering::SeqCst);
        while queued > 0 {
            match self.queued.compare_exchange(
                queued,
                queued - 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => queued = actual,
            }
        }
        false
    }

    /// Queues a job; like the pool, starts a worker when `notify` reserves one.
    fn submit(m: &Arc<Model>, max_workers: usize, target: usize) -> Option<thread::JoinHandle<()>> {
        m.queued.fetch_add(1, Ordering::SeqCst);
        (m.sleep.notify(max_workers) == Notified::SpawnReserved).then(|| {
            let m = m.clone();
            thread::spawn(move || m.work(target))
        })
    }

    /// The worker loop: run jobs until `target` are done or shutdown with nothing queued.
    fn work(&self, target: usize) {
        loop {
            if self.take_job() {
                self.sleep.start_running();
                self.done.fetch_add(1, Ordering::SeqCst);
                self.sleep.stop_running();
                continue;
            }
            if self.done.load(Ordering::SeqCst) >= target || self.sleep.is_shut_down() {
                self.sleep.leave();
                return;
            }
            let woke = self
                .sleep
                .sleep(|| self.queued.load(Ordering::SeqCst) > 0, None);
            assert_eq!(woke, Woke::Search);
        }
    }
}

/// Preemption bounds keep each model to seconds in CI; the bugs this guards
/// against (a missed wake-up between two steps) need only one or two.
fn model(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(f);
}

#[test]
fn a_submission_always_reaches_a_sleeping_worker() {
    model(3, || {
        let m = Model::new();
        assert_eq!(m.sleep.notify(1), Notified::SpawnReserved);
        let worker = {
            let m = m.clone();
            thread::spawn(move || m.work(1))
        };
        // A submission that lands after the worker left reserves a fresh one.
        let late_worker = Model::submit(&m, 1, 1);
        worker.join().unwrap();
        if let Some(late_worker) = late_worker {
            late_worker.join().unwrap();
        }
        assert_eq!(m.done.load(Ordering::SeqCst), 1);
        assert_eq!(m.sleep.counts().workers, 0);
    });
}

#[test]
fn two_submitters_two_workers_lose_nothing() {
    model(2, || {
        let m = Model::new();
        // Count two workers in, as two submissions finding nobody idle would.
        assert_eq!(m.sleep.notify(2), Notified::SpawnReserved);
        m.sleep.start_running();
        assert_eq!(m.sleep.notify(2), Notified::SpawnReserved);
        m.sleep.stop_running();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || m.work(2))
            })
            .collect();
        let submitter = {
            let m = m.clone();
            thread::spawn(move || Model::submit(&m, 2, 2))
        };
        let late_workers = [Model::submit(&m, 2, 2), submitter.join().unwrap()];
        while m.done.load(Ordering::SeqCst) < 2 {
            thread::yield_now();
        }
        m.sleep.shut_down();
        for worker in workers
            .into_iter()
            .chain(late_workers.into_iter().flatten())
        {
            worker.join().unwrap();
        }
        assert_eq!(m.done.load(Ordering::SeqCst), 2);
        assert_eq!(m.sleep.counts().workers, 0);
    });
}

#[test]
fn shutdown_wakes_every_sleeper() {
    model(3, || {
        let m = Model::new();
        assert_eq!(m.sleep.notify(1), Notified::SpawnReserved);
        let worker = {
            let m = m.clone();
            thread::spawn(move || m.work(usize::MAX))
        };
        m.sleep.shut_down();
        worker.join().unwrap();
        assert_eq!(m.sleep.counts().workers, 0);
    });
}
