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

use std::cell::{Cell, RefCell};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};

use super::fork;
use super::job::{Release, Task};
use super::protocol::{Protocol, Queues, Waited};
use super::sleep::MAX_WORKERS_LIMIT;
use super::stats::{Counters, Stats};
use super::worker_handle::WorkerHandle;
use crate::sync::{deadline_after, lock, wait_while, Condvar, Mutex};

/// Python's threads get the platform's default stack (8 MiB on Linux); Rust's
/// default of 2 MiB is too small for deeply recursive Python code.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;

#[derive(Clone, Debug)]
pub struct PoolConfig {
    pub max_workers: usize,
    /// `None` keeps idle workers forever; so does a timeout too long to represent.
    pub idle_timeout: Option<Duration>,
    /// Workers are named `{thread_name_prefix}_{n}`.
    pub thread_name_prefix: String,
    /// Where `n` comes from: pools that serve one executor share it, so
    /// that no two of its threads get the same name.
    pub thread_serials: Arc<AtomicU64>,
    pub stack_size: usize,
    /// Each worker's thread body runs [`WorkerContext::setting_up`] before
    /// it takes a task (see [`Protocol::new`]).
    pub workers_set_up: bool,
}

/// Why [`Pool::new`] refused a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    NoWorkers,
    TooManyWorkers,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::NoWorkers => f.write_str("max_workers must be greater than 0"),
            ConfigError::TooManyWorkers => {
                write!(f, "max_workers must be at most {MAX_WORKERS_LIMIT}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// The body of every worker thread. It must loop: take a task with
/// [`WorkerContext::next_task_now`] and [`WorkerContext::run`] it, or when
/// there is none, [`WorkerContext::wait_for_work`], until that returns
/// false. It should call [`WorkerContext::announce_started`] once its thread
/// is ready to be seen.
pub type ThreadMain = Arc<dyn Fn(&WorkerContext) + Send + Sync>;

pub type SubmitError = super::protocol::SubmitError<Task>;

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
    let mut pools = lock(&EVERY_POOL);
    pools.retain(|pool| pool.strong_count() > 0);
    let generation = fork::generation();
    pools
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|pool| pool.fork_generation == generation)
        .collect()
}

/// Shuts down every pool in the process (process exit).
pub fn shut_down_every_pool() {
    for pool in every_live_pool() {
        pool.protocol.close();
    }
}

/// Waits for the workers of every pool to exit, except the caller's own
/// thread; false if `timeout` passed first.
pub fn wait_for_every_pool(timeout: Option<Duration>) -> bool {
    let deadline = deadline_after(timeout);
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
    /// When the pool was made: in a forked child its threads are gone and
    /// its locks may be held forever, so the child must not touch it.
    fork_generation: u64,
    config: PoolConfig,
    injector: Injector<Task>,
    stealers: RwLock<Vec<(u64, Stealer<Task>)>>,
    protocol: Protocol,
    counters: Counters,
    live: Mutex<Vec<Arc<WorkerHandle>>>,
    all_exited: Condvar,
    thread_main: ThreadMain,
}

pub struct Pool {
    shared: Arc<Shared>,
}

impl Pool {
    pub fn new(config: PoolConfig, thread_main: ThreadMain) -> Result<Pool, ConfigError> {
        if config.max_workers == 0 {
            return Err(ConfigError::NoWorkers);
        }
        if config.max_workers > MAX_WORKERS_LIMIT {
            return Err(ConfigError::TooManyWorkers);
        }
        let shared = Arc::new(Shared {
            id: NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed),
            fork_generation: fork::generation(),
            injector: Injector::new(),
            stealers: RwLock::new(Vec::new()),
            protocol: Protocol::new(
                config.max_workers,
                config.idle_timeout,
                config.workers_set_up,
            ),
            counters: Counters::default(),
            live: Mutex::new(Vec::new()),
            all_exited: Condvar::new(),
            thread_main,
            config,
        });
        let mut every_pool = lock(&EVERY_POOL);
        // A dead entry still pins its pool's allocation: prune as we go.
        every_pool.retain(|pool| pool.strong_count() > 0);
        every_pool.push(Arc::downgrade(&shared));
        drop(every_pool);
        Ok(Pool { shared })
    }

    pub fn config(&self) -> &PoolConfig {
        &self.shared.config
    }

    /// The bound now: `config().max_workers` until [`Pool::set_max_workers`].
    pub fn max_workers(&self) -> usize {
        self.shared.protocol.max_workers()
    }

    /// Changes how many workers the pool may grow to, at most
    /// `MAX_WORKERS_LIMIT`; running workers are never stopped for it.
    pub fn set_max_workers(&self, max_workers: usize) {
        self.shared
            .protocol
            .set_max_workers(max_workers.min(MAX_WORKERS_LIMIT));
    }

    /// Queues `task`: on the calling worker's own deque when called from one
    /// of this pool's workers, else on the injector. `Ok(Some(worker))`: this
    /// submission started a new worker, whose start the caller may wait for
    /// ([`WorkerHandle::wait_started`]).
    pub fn submit(&self, task: Task) -> Result<Option<Arc<WorkerHandle>>, SubmitError> {
        self.shared.protocol.submit(&self.shared, task)
    }

    /// Refuses new work and lets the workers exit once the queues are empty.
    /// Idempotent; returns at once (see [`Pool::wait_for_workers`]).
    pub fn shutdown(&self) {
        self.shared.protocol.close();
    }

    pub fn is_shut_down(&self) -> bool {
        self.shared.protocol.is_closed()
    }

    /// Takes every queued task out of the pool, unrun.
    pub fn drain(&self) -> Vec<Task> {
        self.shared.drain()
    }

    /// Shuts the pool down and takes every queued task out, unrun: once it
    /// returns, no task can be admitted or left queued.
    pub fn shut_down_and_drain(&self) -> Vec<Task> {
        self.shared.shut_down_and_drain()
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
        let counts = shared.protocol.counts();
        let running = shared.counters.running.load(Ordering::Relaxed);
        // Deques before the injector: tasks only ever move from the injector
        // to a deque (a batch steal), so read in this order a moving task is
        // missed rather than counted twice, and `queued` never shows more than
        // the pool held (a bound such as `max_queued` holds in it too).
        let in_deques = read(&shared.stealers)
            .iter()
            .map(|(_, stealer)| stealer.len())
            .sum::<usize>();
        let queued = in_deques + shared.injector.len();
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
        if fork::generation() != self.shared.fork_generation {
            // A forked child: the workers never existed here and the parent's
            // locks may be held by threads that are gone. Leak, never touch.
            std::mem::forget(Arc::clone(&self.shared));
            return;
        }
        self.shutdown();
    }
}

// Poisoning ignored, as `sync::lock` explains.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn drain_into(drained: &mut Vec<Task>, mut steal: impl FnMut() -> Steal<Task>) {
    loop {
        match steal() {
            Steal::Success(task) => drained.push(task),
            Steal::Empty => return,
            Steal::Retry => continue,
        }
    }
}

impl Shared {
    fn drain(&self) -> Vec<Task> {
        let mut drained = Vec::new();
        drain_into(&mut drained, || self.injector.steal());
        for (_, stealer) in read(&self.stealers).iter() {
            drain_into(&mut drained, || stealer.steal());
        }
        drained
    }

    fn shut_down_and_drain(&self) -> Vec<Task> {
        // Closing first: every submission is then either refused or has
        // queued its task before the drain.
        self.protocol.close();
        self.drain()
    }

    /// Waits until every worker but the calling one (when it is a worker of
    /// this pool) has exited. Returns false if `timeout` passed first.
    fn wait_for_workers(&self, timeout: Option<Duration>) -> bool {
        let me = self.current_worker_serial();
        let live = lock(&self.live);
        wait_while(&self.all_exited, live, deadline_after(timeout), |live| {
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

    fn forget_worker(&self, serial: u64) {
        write(&self.stealers).retain(|(s, _)| *s != serial);
        let mut live = lock(&self.live);
        live.retain(|worker| worker.serial != serial);
        self.all_exited.notify_all();
    }
}

impl Queues for Arc<Shared> {
    type Task = Task;
    type Worker = Arc<WorkerHandle>;

    fn push(&self, task: Task) {
        let handed_back = LOCAL.with(|local| match &*local.borrow() {
            Some(queue) if queue.pool_id == self.id => {
                queue.deque.push(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = handed_back {
            self.injector.push(task);
        }
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
            let stealers = read(&self.stealers);
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

    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || read(&self.stealers)
                .iter()
                .any(|(_, stealer)| !stealer.is_empty())
    }

    fn start_worker(&self) -> io::Result<Arc<WorkerHandle>> {
        spawn_worker(self)
    }
}

/// The name the operating system gets: it cannot hold a NUL byte, which a
/// Python thread name can.
fn os_thread_name(name: &str) -> String {
    name.replace('\0', "")
}

/// Starts the thread for a worker the protocol has counted in.
fn spawn_worker(shared: &Arc<Shared>) -> io::Result<Arc<WorkerHandle>> {
    let serial = shared.config.thread_serials.fetch_add(1, Ordering::Relaxed);
    let name = format!("{}_{}", shared.config.thread_name_prefix, serial);
    let handle = Arc::new(WorkerHandle::new(serial, name));
    let deque = Deque::new_fifo();
    write(&shared.stealers).push((serial, deque.stealer()));
    lock(&shared.live).push(Arc::clone(&handle));
    let thread_shared = Arc::clone(shared);
    let thread_handle = Arc::clone(&handle);
    // Whatever goes wrong while starting the thread (std panics on some
    // names and on some platforms' errors), the pool must stay consistent.
    let spawned = catch_unwind(AssertUnwindSafe(|| {
        thread::Builder::new()
            .name(os_thread_name(&handle.name))
            .stack_size(shared.config.stack_size)
            .spawn(move || worker_thread(thread_shared, thread_handle, deque))
    }))
    .unwrap_or_else(|_| Err(io::Error::other("starting the thread panicked")));
    match spawned {
        Ok(_) => {
            Counters::bump(&shared.counters.spawned);
            Ok(handle)
        }
        Err(error) => {
            shared.forget_worker(serial);
            handle.mark_finished();
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
        state: AtomicU8::new(if shared.config.workers_set_up {
            WorkerState::Running
        } else {
            WorkerState::Searching
        } as u8),
    };
    let thread_main = Arc::clone(&shared.thread_main);
    // A panic outside a task (a bug in the embedder) still ends the worker cleanly.
    let _ = catch_unwind(AssertUnwindSafe(|| thread_main(&context)));
    // Tasks left on this deque (only if the body stopped early) go back to the
    // injector before the worker stops being counted, so its last look sees them.
    if let Some(queue) = LOCAL.with(|local| local.borrow_mut().take()) {
        while let Some(task) = queue.deque.pop() {
            shared.injector.push(task);
        }
    }
    match context.state() {
        WorkerState::Searching => shared.protocol.leave(&shared),
        WorkerState::Running => shared.protocol.leave_while_running(&shared),
        WorkerState::Left => {}
    }
    // Finished first: whoever sees the worker gone from `live` (a
    // `wait_for_workers`) must also see it finished.
    handle.mark_finished();
    shared.forget_worker(handle.serial);
}

/// Where the worker stands in the protocol, so that however its body ends,
/// it is counted out exactly once.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum WorkerState {
    Searching,
    Running,
    /// No longer counted: it retired or the pool shut down.
    Left,
}

/// A worker's view of its pool, handed to [`ThreadMain`].
pub struct WorkerContext {
    shared: Arc<Shared>,
    handle: Arc<WorkerHandle>,
    /// A `WorkerState`; atomic only so the context can cross `detach`, it
    /// is touched by its own thread alone.
    state: AtomicU8,
}

impl WorkerContext {
    pub fn handle(&self) -> &Arc<WorkerHandle> {
        &self.handle
    }

    pub fn pool_id(&self) -> u64 {
        self.shared.id
    }

    fn state(&self) -> WorkerState {
        match self.state.load(Ordering::Relaxed) {
            0 => WorkerState::Searching,
            1 => WorkerState::Running,
            _ => WorkerState::Left,
        }
    }

    fn set_state(&self, state: WorkerState) {
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// [`Pool::shut_down_and_drain`], from a worker (whose thread cannot
    /// serve: its pool is unusable).
    pub fn shut_down_and_drain(&self) -> Vec<Task> {
        self.shared.shut_down_and_drain()
    }

    /// Lets a submitter waiting for this worker's start go on.
    pub fn announce_started(&self) {
        self.handle.mark_started();
    }

    /// Runs the worker's own setup, in a pool whose config says
    /// `workers_set_up` (where the thread body must call this before it
    /// looks for a task): the worker counts as running until it is done.
    pub fn setting_up<R>(&self, setup: impl FnOnce() -> R) -> R {
        let result = setup();
        if self.shared.config.workers_set_up {
            self.shared.protocol.finished_task();
            self.set_state(WorkerState::Searching);
        }
        result
    }

    /// One sweep for a task, without waiting.
    pub fn next_task_now(&self) -> Option<Task> {
        let task = self.shared.protocol.next_task_now(&self.shared)?;
        self.begin_running();
        Some(task)
    }

    /// Spins briefly, then parks until work is queued: true, and the worker
    /// should look with `next_task_now` (the work may be gone by then: wait
    /// again). False means the worker must exit: the pool shut down with
    /// empty queues, or it retired.
    pub fn wait_for_work(&self) -> bool {
        match self.shared.protocol.wait_for_work(&self.shared) {
            Waited::Work => true,
            Waited::Retired => {
                self.set_state(WorkerState::Left);
                Counters::bump(&self.shared.counters.retired);
                false
            }
            Waited::ShutDown => {
                self.set_state(WorkerState::Left);
                false
            }
        }
    }

    /// Runs one task found by `next_task_now`. A panic is
    /// contained here, so the worker survives it.
    pub fn run(&self, task: Task) {
        let released = Cell::new(false);
        let release_worker = || {
            if !released.replace(true) {
                self.finish_running();
            }
        };
        let release = Release::new(&release_worker);
        if catch_unwind(AssertUnwindSafe(|| task.run(&release))).is_err() {
            Counters::bump(&self.shared.counters.panicked);
        }
        release_worker();
    }

    /// The worker's task no longer needs it: counted as done, and the
    /// worker as searching again, in the protocol as in `stats()`.
    fn finish_running(&self) {
        let counters = &self.shared.counters;
        counters.running.fetch_sub(1, Ordering::Relaxed);
        Counters::bump(&counters.completed);
        self.shared.protocol.finished_task();
        self.set_state(WorkerState::Searching);
    }

    fn begin_running(&self) {
        self.set_state(WorkerState::Running);
        self.shared.counters.running.fetch_add(1, Ordering::Relaxed);
    }
}
