//! Parking idle workers and waking them without lost or surplus wake-ups.
//!
//! Every worker is in one of three states, counted in one packed atomic word
//! (`Counts`): *searching* for work, *running* a task, or *sleeping* on the
//! condition variable. Sleepers that no waker has claimed yet are counted as
//! `unclaimed`; a claimed sleeper has a wake token waiting for it under the
//! mutex.
//!
//! The protocol:
//!
//! * A submitter pushes its task, then calls [`Sleep::notify`], which issues a
//!   SeqCst fence and reads the counts. If some worker is searching, that
//!   worker is bound to see the task (below), so nothing needs doing. Else,
//!   if a sleeper is unclaimed, it claims exactly one (under the mutex:
//!   `unclaimed -= 1`, `searching += 1`, `tokens += 1`, `notify_one`). Else
//!   it reserves a new thread if the pool is below its limit.
//! * One searcher may be all that a burst of submissions counted on. The
//!   searcher that takes a task looks again (below) and, if work is left,
//!   wakes or starts the next worker, which does the same: a burst grows
//!   the pool one worker per task *taken*, not per task queued. Workers that
//!   run Python take tasks only while they hold the GIL, so tasks that
//!   release it (blocking calls, hashing) still get a worker each, one GIL
//!   hand-over apart, while tasks that keep it run one after another on the
//!   worker that has it, instead of waking a thread per task to wait for a
//!   GIL that only one of them can hold. Strictly sequential submissions
//!   never grow the pool: a submission whose task a searcher already took
//!   finds the queues empty and starts nothing.
//! * A worker that gives up searching takes the mutex, moves itself from
//!   `searching` to `unclaimed` with one RMW, issues a SeqCst fence and looks
//!   at the queues once more before it waits. The submitter's
//!   "push, fence, read counts" and the sleeper's "announce, fence, read
//!   queues" form a Dekker pair: at least one of them sees the other. Either
//!   the sleeper sees the task and goes back to searching, or the submitter
//!   sees the sleeper and posts a token, which the sleeper finds under the
//!   mutex whether or not it has started waiting. No wake-up is lost.
//!   The claim counts the sleeper as searching at once (it searches as soon
//!   as it wakes), so nobody starts a thread for work it is about to take.
//! * A searching worker that finds a task leaves `searching` with an RMW and a
//!   fence, then looks at the queues again: a submitter that saw it
//!   searching stayed quiet, whatever it pushed. If work is left over the
//!   worker calls [`Sleep::notify`] as a submitter would: when nobody else
//!   searches, it wakes a sleeper or starts a thread (if the pool has room).
//!   While work is queued, then, some worker searches or every worker runs.
//! * A sleeper that times out retires (`workers -= 1`) under the mutex, but
//!   only when no token is waiting for it. A submitter that saw it asleep
//!   then finds it gone when it takes the mutex to claim it, and decides
//!   again from the fresh counts (start a worker, most likely).
//! * A searcher that stops being counted without sleeping (it leaves at
//!   shutdown, or its thread ends early) does so with an RMW and a fence,
//!   and its caller must then look at the queues once more and notify on
//!   their behalf: a submitter may have counted on it as a searcher in the
//!   moment before it left. [`super::protocol`] does this on every path out.
//! * Shutdown sets the flag and wakes every sleeper under the mutex; sleepers
//!   check the flag under the same mutex before waiting.
//!
//! `tests/rust/loom_sleep.rs` checks these claims with loom.

use std::time::{Duration, Instant};

use crate::sync::{
    deadline_after, fence, lock, wait, wait_timeout, AtomicBool, AtomicU64, Condvar, Mutex,
    Ordering,
};

const FIELD_BITS: u32 = 21;
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
const ONE_WORKER: u64 = 1;
const ONE_SEARCHING: u64 = 1 << FIELD_BITS;
const ONE_UNCLAIMED: u64 = 1 << (2 * FIELD_BITS);

/// The largest worker count the packed word can hold.
pub const MAX_WORKERS_LIMIT: usize = FIELD_MASK as usize;

/// A snapshot of the packed counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Live worker threads, including ones reserved but still starting.
    pub workers: usize,
    /// Workers looking for work (neither running a task nor asleep).
    pub searching: usize,
    /// Sleeping workers that no waker has claimed yet.
    pub unclaimed: usize,
}

impl Counts {
    fn unpack(word: u64) -> Self {
        Counts {
            workers: (word & FIELD_MASK) as usize,
            searching: ((word >> FIELD_BITS) & FIELD_MASK) as usize,
            unclaimed: ((word >> (2 * FIELD_BITS)) & FIELD_MASK) as usize,
        }
    }
}

/// What a call to [`Sleep::notify`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Notified {
    /// A sleeper was claimed and signalled.
    WokeSleeper,
    /// Nobody needed waking: a searcher will find the work, or the pool is full.
    Nothing,
    /// A new worker was counted in (as searching, or as running if it sets
    /// itself up first); the caller must start its thread.
    SpawnReserved,
}

/// Why [`Sleep::sleep`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Woke {
    /// Work appeared, a token arrived or shutdown began: the worker is searching again.
    Search,
    /// The idle timeout passed with no work: the worker is no longer counted.
    Retired,
}

pub struct Sleep {
    counts: AtomicU64,
    /// Wake tokens posted to claimed sleepers and not yet taken.
    tokens: Mutex<usize>,
    bell: Condvar,
    shutdown: AtomicBool,
}

impl Default for Sleep {
    fn default() -> Self {
        Sleep {
            counts: AtomicU64::new(0),
            tokens: Mutex::new(0),
            bell: Condvar::new(),
            shutdown: AtomicBool::new(false),
        }
    }
}

impl Sleep {
    pub fn counts(&self) -> Counts {
        Counts::unpack(self.counts.load(Ordering::SeqCst))
    }

    pub fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Called after work was pushed, and by a worker that took a task while
    /// more work is queued. When nobody searches: wakes one sleeper, or
    /// reserves one new worker when the pool has room and `still_queued()`.
    /// A new worker counts as searching at once, unless it `sets_up` first
    /// (see [`super::protocol::Protocol::new`]): then as running, until it
    /// calls [`Sleep::stop_running`].
    pub fn notify(
        &self,
        max_workers: usize,
        sets_up: bool,
        still_queued: impl Fn() -> bool,
    ) -> Notified {
        fence(Ordering::SeqCst);
        let mut word = self.counts.load(Ordering::SeqCst);
        loop {
            let counts = Counts::unpack(word);
            if counts.searching > 0 {
                return Notified::Nothing;
            }
            if counts.unclaimed > 0 {
                if self.wake_one() {
                    return Notified::WokeSleeper;
                }
                word = self.counts.load(Ordering::SeqCst);
                continue;
            }
            if counts.workers >= max_workers {
                return Notified::Nothing;
            }
            // Nobody searched, yet the queues may be empty already: a worker
            // that was searching took the task between its push and this
            // look, and no longer counts as searching. A new thread would
            // find nothing (strictly sequential calls would then start two).
            // Empty queues after the push strand nothing: any later push
            // notifies for itself.
            if !still_queued() {
                return Notified::Nothing;
            }
            let reserved = word + ONE_WORKER + if sets_up { 0 } else { ONE_SEARCHING };
            match self
                .counts
                .compare_exchange(word, reserved, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return Notified::SpawnReserved,
                Err(actual) => word = actual,
            }
        }
    }

    fn wake_one(&self) -> bool {
        let mut tokens = lock(&self.tokens);
        if Counts::unpack(self.counts.load(Ordering::SeqCst)).unclaimed == 0 {
            return false;
        }
        // Counted searching from the claim, as a reserved worker is from its
        // reservation: until it wakes it was neither, and a worker that saw
        // more work queued then found nobody searching or asleep and started
        // a thread for work the claimed sleeper was about to take.
        self.counts
            .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_UNCLAIMED), Ordering::SeqCst);
        *tokens += 1;
        self.bell.notify_one();
        true
    }

    /// A searching worker found a task. Returns after a fence, so the caller's
    /// following look at the queues cannot miss a push whose submitter saw
    /// this worker still searching.
    pub fn start_running(&self) {
        self.counts.fetch_sub(ONE_SEARCHING, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// A worker finished its task and searches again.
    pub fn stop_running(&self) {
        self.counts.fetch_add(ONE_SEARCHING, Ordering::SeqCst);
    }

    /// A searching worker leaves the pool (shutdown, or its thread ends).
    /// The caller must look at the queues afterwards (see the module notes).
    pub fn leave(&self) {
        self.counts
            .fetch_sub(ONE_WORKER + ONE_SEARCHING, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Parks a searching worker until it is woken, work appears, shutdown
    /// begins, or `idle_timeout` passes (then it retires).
    pub fn sleep(&self, has_work: impl Fn() -> bool, idle_timeout: Option<Duration>) -> Woke {
        let deadline = deadline_after(idle_timeout);
        let mut tokens = lock(&self.tokens);
        self.counts
            .fetch_add(ONE_UNCLAIMED.wrapping_sub(ONE_SEARCHING), Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if has_work() || self.is_shut_down() {
            // Still unclaimed: claims need the mutex we hold.
            self.counts
                .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_UNCLAIMED), Ordering::SeqCst);
            return Woke::Search;
        }
        loop {
            if *tokens > 0 {
                // The waker already counted us searching.
                *tokens -= 1;
                return Woke::Search;
            }
            if self.is_shut_down() {
                self.counts
                    .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_UNCLAIMED), Ordering::SeqCst);
                return Woke::Search;
            }
            match deadline {
                None => {
                    tokens = wait(&self.bell, tokens);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // No token is ours (checked above, under the mutex).
                        self.counts
                            .fetch_sub(ONE_UNCLAIMED + ONE_WORKER, Ordering::SeqCst);
                        drop(tokens);
                        fence(Ordering::SeqCst);
                        return Woke::Retired;
                    }
                    tokens = wait_timeout(&self.bell, tokens, deadline - now);
                }
            }
        }
    }

    /// Refuses new sleep and wakes every sleeper so workers can drain and exit.
    pub fn shut_down(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        let _tokens = lock(&self.tokens);
        self.bell.notify_all();
    }
}
