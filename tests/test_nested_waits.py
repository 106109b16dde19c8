"""Waits from a worker on its own pool's futures run the awaited task inline
when it has not started (see ``stealpool/_nested.py``). Scenarios run on
stealpool alone deadlock on the stdlib's pool, so completing at all shows
stealpool did it; those the stdlib survives (timed waits, waits that another
future can satisfy) run on both, and stealpool must behave as the stdlib.
The outer waits are bounded so a regression fails instead of hanging."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
import stealpool
from stealpool._shared_pool import LoopExecutor

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


def test_a_task_a_shared_worker_submits_through_a_loops_view_is_its_own_to_run_inline():
    # A loop's view of the shared pool shares the pool's workers, so a
    # shared worker waiting on what it submitted through the view may run it
    # inline, as if submitted to the shared pool itself.
    view = LoopExecutor()
    try:

        def parent():
            child = view.submit(pow, 2, 3)
            return child._stealpool_inline is not None, child.result()

        assert stealpool.shared_pool().submit(parent).result(timeout=BOUND) == (True, 8)
    finally:
        view.shutdown()


def test_stats_count_the_tasks_run_inline():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(fib, pool, 5).result(timeout=BOUND)
    # fib(5) makes 14 nested submissions; on one worker every one runs inline.
    assert pool.stats()["ran_inline"] == 14


# The stdlib's pool beside stealpool's, for scenarios where the stdlib does
# not deadlock: there stealpool must behave exactly as it does.
EXECUTORS = [
    pytest.param(concurrent.futures.ThreadPoolExecutor, id="stdlib"),
    pytest.param(stealpool.ThreadPoolExecutor, id="stealpool"),
]

# Generous: a timed wait must give up near its timeout, on a busy machine too.
TIMEOUT = 0.2
TOLERANCE = 3.0
# A child that a wait must not run inline gives up its own wait after this,
# so a regression fails an assertion instead of hanging.
CHILD_BOUND = 5.0


def timed_out(wait):
    try:
        wait()
    except concurrent.futures.TimeoutError:
        return True
    return False


def result_gave_up(future, timeout):
    return timed_out(lambda: future.result(timeout=timeout))


def exception_gave_up(future, timeout):
    return timed_out(lambda: future.exception(timeout=timeout))


def wait_gave_up(future, timeout):
    return future in concurrent.futures.wait([future], timeout=timeout).not_done


def as_completed_gave_up(future, timeout):
    try:
        next(concurrent.futures.as_completed([future], timeout=timeout))
    except concurrent.futures.TimeoutError:
        return True
    return False


TIMED_WAITS = [result_gave_up, exception_gave_up, wait_gave_up, as_completed_gave_up]


@pytest.mark.parametrize("executor_class", EXECUTORS)
@pytest.mark.parametrize("timed_wait", TIMED_WAITS, ids=lambda wait: wait.__name__)
def test_a_timed_wait_on_a_queued_child_gives_up_in_time_and_the_child_runs_later(executor_class, timed_wait):
    release = threading.Event()
    with executor_class(max_workers=1) as pool:

        def parent():
            child = pool.submit(release.wait, CHILD_BOUND)
            started = time.monotonic()
            gave_up = timed_wait(child, TIMEOUT)
            waited = time.monotonic() - started
            release.set()
            return child, gave_up, waited

        child, gave_up, waited = pool.submit(parent).result(timeout=BOUND)
        assert gave_up
        assert waited < TIMEOUT + TOLERANCE
        # Run by the worker once the parent returned, and released by then.
        assert child.result(timeout=BOUND) is True


def first_completed(futures):
    return concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED).done


def first_exception(futures):
    return concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION).done


def first_as_completed(futures):
    return {next(concurrent.futures.as_completed(futures))}


ANY_OF_WAITS = [first_completed, first_exception, first_as_completed]


def wait_until_someone_waits_on(future):
    deadline = time.monotonic() + BOUND
    while not future._waiters:
        assert time.monotonic() < deadline, "nobody waited on the future"
        time.sleep(0.001)


@pytest.mark.parametrize("executor_class", EXECUTORS)
@pytest.mark.parametrize("any_of", ANY_OF_WAITS, ids=lambda wait: wait.__name__)
def test_an_any_of_wait_does_not_commit_to_a_queued_child_while_another_future_runs_elsewhere(executor_class, any_of):
    started = threading.Event()
    go = threading.Event()
    first_seen = threading.Event()

    def elsewhere():
        started.set()
        go.wait(BOUND)
        raise ValueError("elsewhere")

    with executor_class(max_workers=2) as pool:
        other = pool.submit(elsewhere)
        assert started.wait(BOUND)

        def parent():
            # Queued: the only other worker is busy with `elsewhere`.
            gate = pool.submit(first_seen.wait, CHILD_BOUND)
            done = any_of([other, gate])
            first_seen.set()
            return done, gate

        waiting = pool.submit(parent)
        wait_until_someone_waits_on(other)
        go.set()
        done, gate = waiting.result(timeout=BOUND)
        assert done == {other}
        assert gate.result(timeout=BOUND) is True


@pytest.mark.parametrize("executor_class", EXECUTORS)
@pytest.mark.parametrize("any_of", [first_completed, first_as_completed], ids=lambda wait: wait.__name__)
def test_an_any_of_wait_leaves_queued_children_to_idle_workers(executor_class, any_of):
    # The scenario: a child run inline first may be the slow one,
    # whichever order the wait looks at them in; a few rounds make that likely.
    with executor_class(max_workers=3) as pool:
        all_started = threading.Barrier(4)
        for _ in range(3):
            pool.submit(all_started.wait, BOUND)
        all_started.wait(BOUND)

        def parent():
            first_seen = threading.Event()
            gate = pool.submit(first_seen.wait, CHILD_BOUND)
            fast = pool.submit(str, "fast")
            done = any_of([gate, fast])
            first_seen.set()
            return done, fast

        for _ in range(20):
            wait_until_every_worker_is_idle(pool)
            done, fast = pool.submit(parent).result(timeout=BOUND)
            assert done == {fast}


def wait_until_every_worker_is_idle(pool):
    """stealpool counts a worker busy for a moment after its task's future
    resolved; the stdlib's pool never runs tasks inline, so needs no wait."""
    if not isinstance(pool, stealpool.ThreadPoolExecutor):
        return
    deadline = time.monotonic() + BOUND
    while pool.stats()["idle"] < pool._max_workers:
        assert time.monotonic() < deadline, "the workers never went idle"
        time.sleep(0.001)


def wait_all_completed(futures):
    return concurrent.futures.wait(futures).done


def all_as_completed(futures):
    return set(concurrent.futures.as_completed(futures))


@pytest.mark.parametrize("wait_all", [wait_all_completed, all_as_completed], ids=lambda wait: wait.__name__)
def test_a_child_cancelled_while_queued_counts_as_done_for_a_nested_wait(wait_all):
    children = []
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            children.extend(pool.submit(pow, 2, i) for i in range(3))
            assert children[1].cancel()
            return wait_all(children)

        waiting = pool.submit(parent)
        try:
            done = waiting.result(timeout=CHILD_BOUND)
        finally:
            if not waiting.done():
                # What the dequeue would do, so a regression fails instead
                # of leaving the only worker waiting forever.
                children[1].set_running_or_notify_cancel()
        assert done == set(children)
        assert children[1].cancelled()
        assert [children[0].result(), children[2].result()] == [1, 4]


def wait_all_completed_in_time(futures):
    return concurrent.futures.wait(futures, timeout=CHILD_BOUND).done


def all_as_completed_in_time(futures):
    return set(concurrent.futures.as_completed(futures, timeout=CHILD_BOUND))


@pytest.mark.parametrize(
    "timed_wait", [wait_all_completed_in_time, all_as_completed_in_time], ids=lambda wait: wait.__name__
)
def test_a_timed_nested_wait_counts_a_child_cancelled_while_queued_as_done(timed_wait):
    # A timed wait runs nothing inline, yet it must still notify the cancel in
    # the dequeue's place: the only worker is the waiter, so no dequeue comes.
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            child = pool.submit(pow, 2, 3)
            assert child.cancel()
            return child, timed_wait([child])

        child, done = pool.submit(parent).result(timeout=BOUND)
    assert done == {child}


def test_a_child_cancelled_by_shutdown_while_its_nested_waiter_waits_counts_as_done():
    # shutdown(cancel_futures=True) takes the child out of the queue, so no
    # dequeue will ever notify its waiters (the stdlib's waiter would wait
    # for `elsewhere` instead, forever in real code).
    started = threading.Event()
    go = threading.Event()

    def elsewhere():
        started.set()
        return go.wait(CHILD_BOUND)

    pool = stealpool.ThreadPoolExecutor(max_workers=2)
    try:
        other = pool.submit(elsewhere)
        assert started.wait(BOUND)
        queued = []

        def parent():
            queued.append(pool.submit(pow, 2, 3))  # no free worker: `elsewhere` holds the other
            return first_completed([other, queued[0]])

        waiting = pool.submit(parent)
        wait_until_someone_waits_on(other)
        pool.shutdown(wait=False, cancel_futures=True)
        assert waiting.result(timeout=BOUND) == {queued[0]}
        assert queued[0].cancelled()
    finally:
        go.set()
        pool.shutdown()


def test_a_child_cancelled_by_shutdown_while_an_all_completed_waiter_runs_its_siblings_counts_as_done():
    # The waiter notifies cancelled children as it starts, then runs the
    # queued ones inline in turn. Whichever of these two it runs first
    # cancels the other, still queued (shutdown(cancel_futures=True) takes it
    # out of the queue, so no dequeue will notify it). The stdlib's pool would
    # deadlock here anyway (its only worker waits): the promise is stealpool's.
    children = []
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:

        def parent():
            children.extend(pool.submit(pool.shutdown, wait=False, cancel_futures=True) for _ in range(2))
            return concurrent.futures.wait(children).done

        waiting = pool.submit(parent)
        try:
            done = waiting.result(timeout=CHILD_BOUND)
        finally:
            for child in children:  # so a regression fails instead of leaving the worker waiting
                if not waiting.done() and child.cancelled():
                    child.set_running_or_notify_cancel()
        assert done == set(children)
        assert sorted(child.cancelled() for child in children) == [False, True]
