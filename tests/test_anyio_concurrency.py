"""anyio's concurrency on stealpool: its limiter, not max_workers, bounds its calls.

anyio grants as many concurrent ``to_thread.run_sync`` calls as its limiter
has tokens (40 by default, resizable) and starts a thread for each call that
finds none idle. On an installed loop those calls must be able to run at
once just the same, while ``asyncio.to_thread`` and ``run_in_executor`` keep
the stdlib's bound, ``max_workers``.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from concurrent.futures.thread import BrokenThreadPool

import pytest
import stealpool
from loop_kinds import new_event_loop

pytest.importorskip("anyio")
import anyio
import anyio.to_thread

pytestmark = pytest.mark.usefixtures("stealpool_serves_anyio")


BOUND = 30  # seconds: a lost wake-up fails the test instead of hanging it


@pytest.fixture
def run(anyio_run):
    return anyio_run


async def run_sync_concurrently(count, func, limiter=None):
    results = [None] * count

    async def one(index):
        results[index] = await anyio.to_thread.run_sync(func, limiter=limiter)

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return results


def meeting_at(barrier):
    def meet():
        barrier.wait()
        return threading.current_thread().name

    return meet


def test_calls_meet_at_a_barrier_of_as_many_parties_as_tokens_allow(run):
    async def main():
        pool = stealpool.install(max_workers=2)
        names = await run_sync_concurrently(10, meeting_at(threading.Barrier(10, timeout=10)))
        return names, pool.stats()

    names, stats = run(main)
    assert len(set(names)) == 10
    assert all(name.startswith("ThreadPoolExecutor-") for name in names)
    assert stats["bridged"] == 10


def test_the_default_limiter_resized_to_100_runs_100_at_once(run):
    async def main():
        anyio.to_thread.current_default_thread_limiter().total_tokens = 100
        stealpool.install()
        before = stealpool.shared_pool().stats()["bridged"]
        names = await run_sync_concurrently(100, meeting_at(threading.Barrier(100, timeout=10)))
        return names, stealpool.shared_pool().stats()["bridged"] - before

    names, bridged = run(main)
    assert len(set(names)) == 100
    assert all(name.startswith("asyncio_") for name in names)
    assert bridged == 100


def test_a_limiter_passed_by_the_caller_bounds_its_calls(run):
    in_call = 0
    most = 0
    lock = threading.Lock()
    gate = threading.Event()

    def counted():
        nonlocal in_call, most
        with lock:
            in_call += 1
            most = max(most, in_call)
            if in_call == 3:
                gate.set()
        gate.wait(timeout=30)
        with lock:
            in_call -= 1

    async def main():
        stealpool.install(max_workers=1)
        await run_sync_concurrently(12, counted, limiter=anyio.CapacityLimiter(3))

    run(main)
    assert most == 3


def test_anyio_calls_do_not_lift_the_bound_of_asyncio_calls(run):
    """Blocked anyio calls hold many threads; to_thread still runs at most max_workers at once."""
    release_anyio = threading.Event()
    anyio_started = threading.Barrier(21, timeout=30)
    in_to_thread = 0
    most_in_to_thread = 0
    lock = threading.Lock()

    def held():
        anyio_started.wait()
        release_anyio.wait(timeout=30)

    def counted():
        nonlocal in_to_thread, most_in_to_thread
        with lock:
            in_to_thread += 1
            most_in_to_thread = max(most_in_to_thread, in_to_thread)
        threading.Event().wait(0.01)
        with lock:
            in_to_thread -= 1

    async def main():
        pool = stealpool.install(max_workers=3)
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(anyio.to_thread.run_sync, held)
            await anyio.to_thread.run_sync(anyio_started.wait, abandon_on_cancel=True)
            await asyncio.gather(*(asyncio.to_thread(counted) for _ in range(30)))
            release_anyio.set()
        return pool.stats()

    stats = run(main)
    assert most_in_to_thread <= 3
    assert stats["bridged"] == 20 + 1 + 30


def test_sequential_calls_reuse_one_thread(run):
    async def main():
        pool = stealpool.install(max_workers=8)
        names = {await anyio.to_thread.run_sync(threading.current_thread) for _ in range(1000)}
        return names, pool.stats()

    names, stats = run(main)
    assert len(names) == 1
    assert stats["spawned"] == 1
    assert stats["completed"] == 1000


def test_sequential_to_thread_calls_reuse_one_thread(loop_kind):
    async def main():
        pool = stealpool.install(max_workers=8)
        for _ in range(1000):
            await asyncio.to_thread(int)
        return pool.stats()

    loop = new_event_loop(loop_kind)
    try:
        stats = loop.run_until_complete(main())
    finally:
        loop.close()
    assert stats["spawned"] == 1


def test_an_initializer_failing_on_anyios_threads_fails_what_waits_on_the_others(run, caplog):
    # The stdlib fails every pending task once an initializer fails: the
    # executor's two pools are one executor, whichever thread's failed.
    calls = itertools.count()

    def fails_after_the_first_thread():
        if next(calls):
            raise ValueError("initializer failed")

    blocker_started, release_blocker = threading.Event(), threading.Event()

    def blocker():
        blocker_started.set()
        return release_blocker.wait(BOUND)

    async def main():
        loop = asyncio.get_running_loop()
        stealpool.install(max_workers=1, initializer=fails_after_the_first_thread)
        running = loop.run_in_executor(None, blocker)
        deadline = loop.time() + BOUND
        while not blocker_started.is_set():  # no thread to spare for waiting on it
            assert loop.time() < deadline, "the first thread never ran"
            await asyncio.sleep(0.001)
        queued = loop.run_in_executor(None, int, "5")
        with pytest.raises(BrokenThreadPool):
            await anyio.to_thread.run_sync(int, "6")
        release_blocker.set()
        assert await running is True
        with pytest.raises(BrokenThreadPool):
            await queued

    run(main)


def test_an_initializer_failing_on_the_executors_threads_fails_what_waits_on_anyios(run, caplog):
    # The mirror image: an anyio call queued while its thread initializes
    # fails once a thread of the executor's own pool breaks the executor,
    # rather than run when its thread is ready.
    calls = itertools.count()
    anyio_thread_initializing, executor_broke = threading.Event(), threading.Event()

    def fails_on_the_second_thread():
        if next(calls):
            raise ValueError("initializer failed")
        anyio_thread_initializing.set()
        executor_broke.wait(BOUND)

    async def main():
        loop = asyncio.get_running_loop()
        executor = stealpool.install(max_workers=1, initializer=fails_on_the_second_thread)
        anyio_call = loop.create_task(anyio.to_thread.run_sync(int, "6"))
        deadline = loop.time() + BOUND
        while not anyio_thread_initializing.is_set():
            assert loop.time() < deadline, "anyio's call started no thread"
            await asyncio.sleep(0.001)
        queued = executor.submit(int, "5")
        # Failing a queued task is the last step of breaking the executor:
        # both pools are drained by then, and the anyio thread may go on.
        queued.add_done_callback(lambda _: executor_broke.set())
        with pytest.raises(BrokenThreadPool):
            await anyio_call
        with pytest.raises(BrokenThreadPool):
            await asyncio.wrap_future(queued)

    run(main)


class MostAtOnce:
    """How many calls of ``counted`` ran at once, at most."""

    def __init__(self, func):
        self.func = func
        self.now = self.most = 0
        self.lock = threading.Lock()

    def counted(self, *args):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self.func(*args)
        finally:
            with self.lock:
                self.now -= 1


class Borrowers(set):
    """A limiter's borrowers (anyio's private ``_borrowers``), remembering
    how many it held at once: what anyio admitted, whatever its tokens."""

    most = 0

    def add(self, borrower):
        super().add(borrower)
        self.most = max(self.most, len(self))


def pause():
    # Long enough for calls to overlap, so that threads are needed at all.
    threading.Event().wait(0.0005)


def test_a_burst_after_an_earlier_pool_starts_no_more_threads_than_tokens(run):
    """A pool that ran threads on an earlier, closed loop leaves nothing that
    makes a later one start extra threads. Every call of the burst reaches
    the limiter in one pass of the loop, before any can return: all but four
    queue, and no call comes later to slip past a woken waiter, so every
    anyio admits four at a time exactly (compare the next test)."""
    calls = MostAtOnce(pause)

    async def earlier():
        stealpool.install()
        await run_sync_concurrently(8, pause)
        await asyncio.gather(*(asyncio.to_thread(pause) for _ in range(8)))

    async def burst():
        pool = stealpool.install(max_workers=1)
        await run_sync_concurrently(100, calls.counted, limiter=anyio.CapacityLimiter(4))
        return pool.stats()["spawned"]

    for _ in range(3):
        run(earlier)
        assert run(burst) <= 4
    assert calls.most <= 4


def test_threads_started_never_outnumber_the_calls_anyio_admits_at_once(run):
    """Eight clients share four tokens, each calling again as soon as its
    call returns. anyio before 4.15 then sometimes admits a fifth and sixth
    call: a call that finds nobody queued takes the token just handed to a
    woken waiter, which has yet to run and count itself (anyio issue #1170),
    and anyio's own threads then outnumber the tokens just as much. A
    thread per admitted call is what anyio's path starts; the pool must
    start no more, and run no more calls at once than anyio admitted."""
    calls = MostAtOnce(pause)
    borrowers = Borrowers()

    async def client(limiter):
        for _ in range(100):
            await anyio.to_thread.run_sync(calls.counted, limiter=limiter)

    async def main():
        pool = stealpool.install(max_workers=1)
        limiter = anyio.CapacityLimiter(4)
        limiter._borrowers = borrowers
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(client, limiter)
        return pool.stats()["spawned"]

    spawned = run(main)
    assert spawned <= borrowers.most
    assert calls.most <= borrowers.most
