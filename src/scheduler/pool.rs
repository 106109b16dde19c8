//! The work-stealing pool: a global injector for work from outside, a FIFO
//! deque per worker for work submitted from inside that worker, and stealing
//! between them, so a worker stuck in a long task never strands the tasks
//! queued behind it.
//!
//! Threads start lazily (one per submission that finds nobody idle, up to
//! `max_workers`) and retire after `idle_timeout` without work. The thread
//! body is supplied by the embedder (`ThreadMain`), so the Python layer can
//! keep each worker attached to the interpreter for its whole life and
//! detach only while it waits; it drives the worker through
//! [`WorkerContext`].

use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};
use crossbeam_utils::Backoff;

use super::job::Task;
use super::sleep::{Notified, Sleep, Woke};
use super::stats::{Counters, Stats};
use super::worker_handle::WorkerHandle;
use crate::sync::{lock, wait_while, Condvar, Mutex};

/// Python's threads get the platform's default stack (8 MiB on Linux); Rust's
/// default of 2 MiB is too small for deeply recursive Python code.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub max_workers: usize,
    /// `None` keeps idle workers forever.
    pub idle_timeout: Option<Duration>,
    /// Workers are named `{thread_name_prefix}_{n}`.
    pub thread_name_prefix: String,
    pub stack_size: usize,
}

/// The body of every worker thread. It must loop on
/// [`WorkerContext::next_task_now`] / [`WorkerContext::wait_for_task`] and
/// [`WorkerContext::run`] until `wait_for_task` returns `None`.
pub type ThreadMain = Arc<dyn Fn(&WorkerContext) + Send + Sync>;

#[derive(Debug)]
pub enum SubmitError {
    /// The pool was shut down; the task is handed back unrun.
    ShutDown(Task),
    /// The task is queued, but no thread could be started to run it.
    Spawn(io::Error),
}

impl std::fmt::Debug for dyn super::job::Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Task")
    }
}

static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

/// Every pool whose threads may still run, so process exit can join them all,
/// including pools whose owner was already dropped.
static EVERY_POOL: std::sync::Mutex<Vec<Weak<Shared>>> = std::sync::Mutex::new(Vec::new());

/// Pools of this process (not of a parent we were forked from) still alive.
fn every_live_pool() -> Vec<Arc<Shared>> {
    let mut pools = EVERY_POOL.lock().unwrap_or_else(|p| p.into_inner());
    pools.retain(|pool| pool.strong_count() > 0);
    let pid = std::process::id();
    pools
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|pool| pool.pid == pid)
        .collect()
}

/// Shuts down every pool in the process (process exit).
pub fn shut_down_every_pool() {
    for pool in every_live_pool() {
        pool.shut_down();
    }
}

/// Waits for the workers of every pool to exit, except the caller's own
/// thread; false if `timeout` passed first.
pub fn wait_for_every_pool(timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    every_live_pool().iter().all(|pool| {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        pool.wait_for_workers(left)
    })
}

/// The calling thread's own deque, when it is a worker.
struct LocalQueue {
    pool_id: u64,
    serial: u64,
    deque: Deque<Task>,
}

thread_local! {
    static LOCAL: RefCell<Option<LocalQueue>> = const { RefCell::new(None) };
}

struct Shared {
    id: u64,
    /// The process that made the pool: in a forked child its threads are gone
    /// and its locks may be held forever, so the child must not touch it.
    pid: u32,
    config: PoolConfig,
    injector: Injector<Task>,
    stealers: RwLock<Vec<(u64, Stealer<Task>)>>,
    sleep: Sleep,
    counters: Counters,
    /// Set by `shutdown`: new submissions are refused.
    closed: AtomicBool,
    /// Submissions between their `closed` check and their push: `shutdown`
    /// waits for them so workers never exit with an accepted task unqueued.
    submitting: AtomicUsize,
    live: Mutex<Vec<Arc<WorkerHandle>>>,
    all_exited: Condvar,
    next_serial: AtomicU64,
    thread_main: ThreadMain,
}

pub struct Pool {
    shared: Arc<Shared>,
}

impl Pool {
    pub fn new(config: PoolConfig, thread_main: ThreadMain) -> Pool {
        let shared = Arc::new(Shared {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            pid: std::process::id(),
            config,
            injector: Injector::new(),
            stealers: RwLock::new(Vec::new()),
            sleep: Sleep::default(),
            counters: Counters::default(),
            closed: AtomicBool::new(false),
            submitting: AtomicUsize::new(0),
            live: Mutex::new(Vec::new()),
            all_exited: Condvar::new(),
            next_serial: AtomicU64::new(0),
            thread_main,
        });
        let mut every_pool = EVERY_POOL.lock().unwrap_or_else(|p| p.into_inner());
        // A dead entry still pins its pool's allocation: prune as we go.
        every_pool.retain(|pool| pool.strong_count() > 0);
        every_pool.push(Arc::downgrade(&shared));
        drop(every_pool);
        Pool { shared }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.shared.config
    }

    /// Queues `task`: on the calling worker's own deque when called from one
    /// of this pool's workers, else on the injector.
    pub fn submit(&self, task: Task) -> Result<(), SubmitError> {
        let shared = &self.shared;
        shared.submitting.fetch_add(1, Ordering::SeqCst);
        if shared.closed.load(Ordering::SeqCst) {
            shared.submitting.fetch_sub(1, Ordering::SeqCst);
            return Err(SubmitError::ShutDown(task));
        }
        if let Some(task) = shared.push_local(task) {
            shared.injector.push(task);
        }
        let notified = shared.notify();
        shared.submitting.fetch_sub(1, Ordering::SeqCst);
        notified.map_err(SubmitError::Spawn)
    }

    /// Refuses new work and lets the workers exit once the queues are empty.
    /// Idempotent; returns at once (see [`Pool::wait_for_workers`]).
    pub fn shutdown(&self) {
        self.shared.shut_down();
    }

    pub fn is_shut_down(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Takes every queued task out of the pool, unrun.
    pub fn drain(&self) -> Vec<Task> {
        let shared = &self.shared;
        let mut drained = Vec::new();
        loop {
            match shared.injector.steal() {
                Steal::Success(task) => drained.push(task),
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
        for (_, stealer) in shared
            .stealers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            loop {
                match stealer.steal() {
                    Steal::Success(task) => drained.push(task),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        drained
    }

    /// Waits until every worker but the calling one (when it is a worker of
    /// this pool) has exited. Returns false if `timeout` passed first.
    pub fn wait_for_workers(&self, timeout: Option<Duration>) -> bool {
        self.shared.wait_for_workers(timeout)
    }

    /// The live workers, oldest first.
    pub fn workers(&self) -> Vec<Arc<WorkerHandle>> {
        lock(&self.shared.live).clone()
    }

    pub fn stats(&self) -> Stats {
        let shared = &self.shared;
        let counts = shared.sleep.counts();
        let running = shared.counters.running.load(Ordering::Relaxed);
        let queued = shared.injector.len()
            + shared
                .stealers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(_, stealer)| stealer.len())
                .sum::<usize>();
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            workers: counts.workers,
            idle: counts.workers.saturating_sub(running as usize),
            queued,
            running,
            completed: read(&shared.counters.completed),
            stolen: read(&shared.counters.stolen),
            spawned: read(&shared.counters.spawned),
            retired: read(&shared.counters.retired),
            panicked: read(&shared.counters.panicked),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if std::process::id() != self.shared.pid {
            // A forked child: the workers never existed here and the parent's
            // locks may be held by threads that are gone. Leak, never touch.
            std::mem::forget(Arc::clone(&self.shared));
            return;
        }
        self.shutdown();
    }
}

impl Shared {
    fn shut_down(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let backoff = Backoff::new();
        while self.submitting.load(Ordering::SeqCst) > 0 {
            backoff.snooze();
        }
        self.sleep.shut_down();
    }

    /// Waits until every worker but the calling one (when it is a worker of
    /// this pool) has exited. Returns false if `timeout` passed first.
    fn wait_for_workers(&self, timeout: Option<Duration>) -> bool {
        let me = self.current_worker_serial();
        let deadline = timeout.map(|t| Instant::now() + t);
        let live = lock(&self.live);
        wait_while(&self.all_exited, live, deadline, |live| {
            live.iter().any(|worker| Some(worker.serial) != me)
        })
        .1
    }

    fn current_worker_serial(&self) -> Option<u64> {
        LOCAL.with(|local| match &*local.borrow() {
            Some(queue) if queue.pool_id == self.id => Some(queue.serial),
            _ => None,
        })
    }

    /// Pushes onto the calling worker's deque; hands the task back when the
    /// caller is not one of this pool's workers.
    fn push_local(&self, task: Task) -> Option<Task> {
        LOCAL.with(|local| match &*local.borrow() {
            Some(queue) if queue.pool_id == self.id => {
                queue.deque.push(task);
                None
            }
            _ => Some(task),
        })
    }

    fn notify(self: &Arc<Self>) -> io::Result<()> {
        self.start_reserved(self.sleep.notify(self.config.max_workers))
    }

    fn start_reserved(self: &Arc<Self>, notified: Notified) -> io::Result<()> {
        match notified {
            Notified::SpawnReserved => spawn_worker(self),
            Notified::WokeSleeper | Notified::Nothing => Ok(()),
        }
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .stealers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|(_, stealer)| !stealer.is_empty())
    }

    /// One sweep: own deque, then a batch from the injector, then siblings.
    fn find_task(&self) -> Option<Task> {
        LOCAL.with(|local| {
            let local = local.borrow();
            let queue = local.as_ref()?;
            if let Some(task) = queue.deque.pop() {
                return Some(task);
            }
            loop {
                match self.injector.steal_batch_and_pop(&queue.deque) {
                    Steal::Success(task) => return Some(task),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
            let stealers = self.stealers.read().unwrap_or_else(|p| p.into_inner());
            let count = stealers.len();
            // Start at a different sibling per worker so thieves spread out.
            let start = queue.serial as usize;
            for offset in 0..count {
                let (serial, stealer) = &stealers[(start + offset) % count];
                if *serial == queue.serial {
                    continue;
                }
                loop {
                    match stealer.steal() {
                        Steal::Success(task) => {
                            Counters::bump(&self.counters.stolen);
                            return Some(task);
                        }
                        Steal::Empty => break,
                        Steal::Retry => continue,
                    }
                }
            }
            None
        })
    }

    fn forget_worker(&self, serial: u64) {
        self.stealers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(s, _)| *s != serial);
        let mut live = lock(&self.live);
        live.retain(|worker| worker.serial != serial);
        self.all_exited.notify_all();
    }
}

/// Starts the thread for a worker already counted in by `Sleep::notify`.
fn spawn_worker(shared: &Arc<Shared>) -> io::Result<()> {
    let serial = shared.next_serial.fetch_add(1, Ordering::Relaxed);
    let name = format!("{}_{}", shared.config.thread_name_prefix, serial);
    let handle = Arc::new(WorkerHandle::new(serial, name.clone()));
    let deque = Deque::new_fifo();
    shared
        .stealers
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .push((serial, deque.stealer()));
    lock(&shared.live).push(Arc::clone(&handle));
    let thread_shared = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(name)
        .stack_size(shared.config.stack_size)
        .spawn(move || worker_thread(thread_shared, handle, deque));
    match spawned {
        Ok(_) => {
            Counters::bump(&shared.counters.spawned);
            Ok(())
        }
        Err(error) => {
            shared.forget_worker(serial);
            shared.sleep.leave();
            Err(error)
        }
    }
}

fn worker_thread(shared: Arc<Shared>, handle: Arc<WorkerHandle>, deque: Deque<Task>) {
    LOCAL.with(|local| {
        *local.borrow_mut() = Some(LocalQueue {
            pool_id: shared.id,
            serial: handle.serial,
            deque,
        })
    });
    let context = WorkerContext {
        shared: Arc::clone(&shared),
        handle: Arc::clone(&handle),
        left: AtomicBool::new(false),
    };
    let thread_main = Arc::clone(&shared.thread_main);
    // A panic outside a task (a bug in the embedder) still ends the worker cleanly.
    let _ = catch_unwind(AssertUnwindSafe(|| thread_main(&context)));
    if !context.left.load(Ordering::Relaxed) {
        shared.sleep.leave();
    }
    // Tasks left on this deque (only if the body stopped early) go back to the injector.
    if let Some(queue) = LOCAL.with(|local| local.borrow_mut().take()) {
        while let Some(task) = queue.deque.pop() {
            shared.injector.push(task);
        }
    }
    shared.forget_worker(handle.serial);
    handle.mark_finished();
}

/// A worker's view of its pool, handed to [`ThreadMain`].
pub struct WorkerContext {
    shared: Arc<Shared>,
    handle: Arc<WorkerHandle>,
    /// Set once the worker is no longer counted (it retired or shut down).
    left: AtomicBool,
}

impl WorkerContext {
    pub fn handle(&self) -> &Arc<WorkerHandle> {
        &self.handle
    }

    pub fn pool_id(&self) -> u64 {
        self.shared.id
    }

    /// One sweep for a task, without waiting.
    pub fn next_task_now(&self) -> Option<Task> {
        let task = self.shared.find_task()?;
        self.begin_running();
        Some(task)
    }

    /// Spins briefly, then parks until a task arrives. `None` means the worker
    /// must exit: the pool shut down with empty queues, or it retired.
    pub fn wait_for_task(&self) -> Option<Task> {
        let shared = &self.shared;
        loop {
            let backoff = Backoff::new();
            loop {
                if let Some(task) = self.next_task_now() {
                    return Some(task);
                }
                if backoff.is_completed() {
                    break;
                }
                backoff.snooze();
            }
            if shared.sleep.is_shut_down() {
                shared.sleep.leave();
                self.left.store(true, Ordering::Relaxed);
                return None;
            }
            match shared
                .sleep
                .sleep(|| shared.has_work(), shared.config.idle_timeout)
            {
                Woke::Search => continue,
                Woke::Retired => {
                    self.left.store(true, Ordering::Relaxed);
                    Counters::bump(&shared.counters.retired);
                    if shared.has_work() {
                        // Work pushed while we retired: hand it to a fresh worker.
                        let _ = shared.notify();
                    }
                    return None;
                }
            }
        }
    }

    /// Runs one task found by `next_task_now` or `wait_for_task`. A panic is
    /// contained here, so the worker survives it.
    pub fn run(&self, task: Task) {
        let counters = &self.shared.counters;
        if catch_unwind(AssertUnwindSafe(|| task.run())).is_err() {
            Counters::bump(&counters.panicked);
        }
        counters.running.fetch_sub(1, Ordering::Relaxed);
        Counters::bump(&counters.completed);
        self.shared.sleep.stop_running();
    }

    fn begin_running(&self) {
        let shared = &self.shared;
        shared.counters.running.fetch_add(1, Ordering::Relaxed);
        shared.sleep.start_running();
        if shared.has_work() {
            // More is queued than this worker can take: start another if
            // nobody else searches (see `Sleep::notify_leftover`).
            let notified = shared.sleep.notify_leftover(shared.config.max_workers);
            let _ = shared.start_reserved(notified);
        }
    }
}
