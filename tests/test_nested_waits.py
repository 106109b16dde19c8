"""Waits from a worker on its own pool's futures run the awaited task inline
when it has not started (see ``stealpool/_nested.py``). Every scenario here
deadlocks on the stdlib's pool, so completing at all shows stealpool did it;
the outer waits are bounded so a regression fails instead of hanging."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest
import stealpool

BOUND = 60.0


def fib(pool: stealpool.ThreadPoolExecutor, n: int) -> int:
    if n < 2:
        return n
    a = pool.submit(fib, pool, n - 1)
    b = pool.submit(fib, pool, n - 2)
    return a.result() + b.result()


def test_the_documentations_wait_on_future_example_completes_on_one_worker():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def wait_on_future():
            f = pool.submit(pow, 5, 2)
            return f.result()

        assert pool.submit(wait_on_future).result(timeout=BOUND) == 25


@pytest.mark.parametrize("workers", [1, 2])
def test_recursive_fib_completes(workers):
    with stealpool.ThreadPoolExecutor(max_workers=workers) as pool:
        assert pool.submit(fib, pool, 20).result(timeout=BOUND) == 6765
    assert pool.stats()["workers"] <= workers


def test_map_inside_a_task_completes():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        outer = pool.submit(lambda: list(pool.map(pow, [2] * 8, range(8))))
        assert outer.result(timeout=BOUND) == [2**i for i in range(8)]


def test_exception_waits_inline_too():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            return pool.submit(int, "x").exception()

        assert isinstance(pool.submit(parent).result(timeout=BOUND), ValueError)


@pytest.mark.parametrize("return_when", [concurrent.futures.ALL_COMPLETED, concurrent.futures.FIRST_COMPLETED])
def test_concurrent_futures_wait_inside_a_task_completes(return_when):
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            futures = [pool.submit(pow, 2, i) for i in range(5)]
            done, _ = concurrent.futures.wait(futures, return_when=return_when)
            return {f.result() for f in done}

        done = pool.submit(parent).result(timeout=BOUND)
        assert done <= {2**i for i in range(5)} and done
        if return_when == concurrent.futures.ALL_COMPLETED:
            assert done == {2**i for i in range(5)}


def test_as_completed_inside_a_task_completes():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            futures = [pool.submit(pow, 3, i) for i in range(5)]
            return sorted(f.result() for f in concurrent.futures.as_completed(futures))

        assert pool.submit(parent).result(timeout=BOUND) == [3**i for i in range(5)]


def test_an_inline_task_runs_on_the_waiters_thread_with_its_locals_and_locks():
    local = threading.local()
    lock = threading.RLock()

    def child():
        acquired = lock.acquire(blocking=False)  # re-entrant: the waiter holds it
        if acquired:
            lock.release()
        return threading.current_thread(), getattr(local, "value", None), acquired

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            local.value = "set by the waiter"
            with lock:
                return threading.current_thread(), pool.submit(child).result()

        waiter, (runner, value, acquired) = pool.submit(parent).result(timeout=BOUND)
    assert runner is waiter
    assert value == "set by the waiter"
    assert acquired


def test_a_task_claimed_by_a_waiter_is_not_run_again_by_its_queued_job():
    calls = []
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            return pool.submit(calls.append, "ran").result()

        pool.submit(parent).result(timeout=BOUND)
    assert calls == ["ran"]
    # The skipped job was still taken from the queue and counted.
    assert pool.stats()["completed"] == 2


def test_a_true_cycle_still_blocks_until_its_bounded_wait_gives_up():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        futures = {}

        def a():
            futures["b"] = pool.submit(b)
            return futures["b"].result()

        def b():
            # `a` runs inline further down this thread's stack: waiting on it
            # can never finish, so only the timeout ends this wait.
            try:
                return futures["a"].result(timeout=0.2)
            except concurrent.futures.TimeoutError:
                return "cycle"

        def parent():
            futures["a"] = pool.submit(a)
            return futures["a"].result()

        assert pool.submit(parent).result(timeout=BOUND) == "cycle"


def test_outside_a_worker_a_wait_never_runs_the_task_itself():
    release = threading.Event()
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(release.wait)
        queued = pool.submit(threading.current_thread)
        assert queued._stealpool_inline is None
        release.set()
        assert queued.result(timeout=BOUND) is not threading.current_thread()


def test_stats_count_the_tasks_run_inline():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fib, pool, 5).result(timeout=BOUND)
    # fib(5) makes 14 nested submissions; on one worker every one runs inline.
    assert pool.stats()["ran_inline"] == 14
