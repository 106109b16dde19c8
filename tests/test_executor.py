"""stealpool.ThreadPoolExecutor as a drop-in for the stdlib class."""

from __future__ import annotations

import concurrent.futures
import contextvars
import decimal
import gc
import itertools
import logging
import os
import re
import sys
import threading
import time
import weakref
from concurrent.futures.thread import BrokenThreadPool

import pytest
import stealpool
from stealpool._executor import default_max_workers


def noop() -> None:
    return None


@pytest.fixture(autouse=True)
def stealpool_served_what_it_accepted(monkeypatch):
    """Most tests here check stealpool against the stdlib's behaviour, which
    the stdlib's own class would pass too; this makes each of them prove that
    stealpool's pool did the work: every pool the test made that accepted a
    task started a worker of its own (its stats() say so)."""
    accepting = []
    submit = stealpool.ThreadPoolExecutor.submit

    def recording_submit(self, fn, /, *args, **kwargs):
        future = submit(self, fn, *args, **kwargs)
        accepting.append(self._core)
        return future

    monkeypatch.setattr(stealpool.ThreadPoolExecutor, "submit", recording_submit)
    yield
    assert all(core.stats()["spawned"] > 0 for core in accepting)


def test_is_a_stdlib_thread_pool_executor():
    with stealpool.ThreadPoolExecutor() as pool:
        assert isinstance(pool, concurrent.futures.ThreadPoolExecutor)


def test_default_max_workers_follows_the_stdlib_formula():
    cpus = getattr(os, "process_cpu_count", os.cpu_count)() or 1
    with stealpool.ThreadPoolExecutor() as pool:
        assert pool._max_workers == min(32, cpus + 4) == default_max_workers()
        assert pool._max_workers == concurrent.futures.ThreadPoolExecutor()._max_workers


@pytest.mark.parametrize("bad", [0, -1])
def test_rejects_non_positive_max_workers_like_the_stdlib(bad):
    with pytest.raises(ValueError, match="^max_workers must be greater than 0$"):
        stealpool.ThreadPoolExecutor(max_workers=bad)


def test_rejects_non_callable_initializer_like_the_stdlib():
    with pytest.raises(TypeError, match="^initializer must be a callable$"):
        stealpool.ThreadPoolExecutor(initializer=42)


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_rejects_bad_idle_timeout(bad):
    with pytest.raises(ValueError, match="idle_timeout"):
        stealpool.ThreadPoolExecutor(idle_timeout=bad)


def test_submit_returns_a_stdlib_future_with_the_result():
    with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
        future = pool.submit(lambda a, b=0: a + b, 1, b=2)
        assert isinstance(future, concurrent.futures.Future)
        assert future.result(timeout=10) == 3


def test_submit_accepts_fn_and_self_as_keyword_arguments():
    def echo(**kwargs):
        return kwargs

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(echo, fn=1, self=2).result() == {"fn": 1, "self": 2}


def test_exceptions_arrive_on_the_future_with_their_traceback():
    def fails():
        raise KeyError("boom")

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(fails)
        error = future.exception(timeout=10)
        assert isinstance(error, KeyError)
        frames = []
        traceback = error.__traceback__
        while traceback is not None:
            frames.append(traceback.tb_frame.f_code.co_name)
            traceback = traceback.tb_next
        assert "fails" in frames


@pytest.mark.parametrize("exception", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_base_exceptions_land_on_the_future_and_the_pool_survives(exception):
    def raises():
        raise exception

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(raises).exception(timeout=10) is exception
        assert pool.submit(lambda: 5).result(timeout=10) == 5


def test_non_callable_fn_fails_on_its_future():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(42)
        with pytest.raises(TypeError, match="not callable"):
            future.result(timeout=10)
        assert pool.submit(lambda: "ok").result() == "ok"


@pytest.mark.needs_test_helpers
def test_a_rust_panic_becomes_an_exception_on_the_future():
    from stealpool import _core

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_core.panic_for_tests, "deliberate")
        error = future.exception(timeout=10)
        assert isinstance(error, stealpool.PanicException)
        assert "deliberate" in str(error)
        assert pool.submit(lambda: 1).result(timeout=10) == 1


def test_huge_argument_tuples_are_passed_through():
    args = tuple(range(100_000))
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(lambda *xs: sum(xs), *args).result(timeout=30) == sum(args)


def test_works_with_wait_and_as_completed():
    with stealpool.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(pow, i, 2) for i in range(100)]
        done, not_done = concurrent.futures.wait(futures, timeout=30)
        assert not not_done and len(done) == 100
        assert sorted(f.result() for f in concurrent.futures.as_completed(futures)) == [i * i for i in range(100)]


def test_map_matches_the_stdlib():
    with stealpool.ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(pow, range(10), range(10))) == [pow(i, i) for i in range(10)]
        assert list(pool.map(str, range(20), chunksize=4)) == [str(i) for i in range(20)]
        results = pool.map(lambda x: 1 / x, [1, 0, 2])
        assert next(results) == 1
        with pytest.raises(ZeroDivisionError):
            next(results)


def test_map_timeout_raises_like_the_stdlib():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        results = pool.map(time.sleep, [0.5], timeout=0.01)
        with pytest.raises(concurrent.futures.TimeoutError):
            list(results)


def test_map_buffersize_on_every_python():
    with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
        # One: each result taken must submit the next call, or the map ends after the first.
        assert list(pool.map(abs, range(-5, 5), buffersize=1)) == [abs(i) for i in range(-5, 5)]
        assert list(pool.map(abs, range(-5, 5), buffersize=2)) == [abs(i) for i in range(-5, 5)]
        assert list(pool.map(pow, range(4), range(4), buffersize=10)) == [pow(i, i) for i in range(4)]


def test_map_buffersize_reads_an_endless_input_lazily():
    with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
        consumed = []

        def endless():
            for i in itertools.count():
                consumed.append(i)
                yield i

        results = pool.map(abs, endless(), buffersize=3)
        assert [next(results) for _ in range(5)] == [0, 1, 2, 3, 4]
        # Three submitted up front, then one more per result taken.
        assert len(consumed) == 3 + 5
        results.close()


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (0, ValueError, "buffersize must be None or > 0"),
        (-1, ValueError, "buffersize must be None or > 0"),
        (1.5, TypeError, "buffersize must be an integer or None"),
        ("2", TypeError, "buffersize must be an integer or None"),
    ],
)
def test_map_rejects_bad_buffersize_like_the_stdlib(bad, error, message):
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        with pytest.raises(error, match=f"^{re.escape(message)}$"):
            pool.map(abs, [1], buffersize=bad)
        assert pool.stats()["completed"] == 0


def test_map_buffersize_timeout_raises_and_cancels_the_rest():
    started = []
    release = threading.Event()

    def held_until_released(number):
        started.append(number)
        release.wait(10)

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        results = pool.map(held_until_released, [0, 1, 2], timeout=0.01, buffersize=2)
        with pytest.raises(concurrent.futures.TimeoutError):
            list(results)
        release.set()
    # The one worker was still on the first call (or had not begun it, and
    # then it was cancelled too): the calls queued behind it never run.
    assert started in ([], [0])


def test_map_buffersize_from_inside_a_task_completes():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        outer = pool.submit(lambda: list(pool.map(abs, range(-6, 0), buffersize=2)))
        assert outer.result(timeout=60) == [abs(i) for i in range(-6, 0)]


def test_shutdown_is_idempotent_and_refuses_new_work():
    pool = stealpool.ThreadPoolExecutor(max_workers=2)
    pool.submit(noop).result()
    pool.shutdown()
    pool.shutdown(wait=False)
    pool.shutdown(wait=True, cancel_futures=True)
    assert pool._shutdown
    with pytest.raises(RuntimeError, match="^cannot schedule new futures after shutdown$"):
        pool.submit(noop)


def test_shutdown_wait_runs_queued_work_and_joins_workers():
    pool = stealpool.ThreadPoolExecutor(max_workers=2)
    futures = [pool.submit(time.sleep, 0.01) for _ in range(20)]
    threads = pool._threads
    pool.shutdown(wait=True)
    assert all(f.done() and not f.cancelled() for f in futures)
    assert all(not t.is_alive() for t in threads)
    assert pool.stats()["workers"] == 0


def test_shutdown_cancel_futures_cancels_queued_work():
    release = threading.Event()
    pool = stealpool.ThreadPoolExecutor(max_workers=1)
    blocker = pool.submit(release.wait)
    while pool.stats()["running"] == 0:
        time.sleep(0.001)
    queued = [pool.submit(noop) for _ in range(10)]
    pool.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    release.set()
    assert blocker.result(timeout=10) is True
    pool.shutdown(wait=True)


def test_shutdown_from_another_thread_and_from_a_worker_does_not_deadlock():
    pool = stealpool.ThreadPoolExecutor(max_workers=2)
    from_worker = pool.submit(lambda: pool.shutdown(wait=True))
    assert from_worker.result(timeout=10) is None
    other = threading.Thread(target=pool.shutdown)
    other.start()
    other.join(10)
    assert not other.is_alive()


def test_a_cancelled_future_never_runs():
    release = threading.Event()
    ran = []
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(release.wait)
        future = pool.submit(ran.append, 1)
        assert future.cancel()
        release.set()
    assert ran == []


def test_initializer_runs_once_per_worker_with_initargs():
    seen = []
    with stealpool.ThreadPoolExecutor(max_workers=2, initializer=seen.append, initargs=("init",)) as pool:
        assert pool.submit(lambda: "ok").result() == "ok"
    assert seen and set(seen) == {"init"} and len(seen) <= 2


@pytest.mark.parametrize("pool_class", [concurrent.futures.ThreadPoolExecutor, stealpool.ThreadPoolExecutor])
def test_workers_whose_initializers_wait_for_each_other_all_start_like_the_stdlibs(pool_class):
    # A worker still running its initializer cannot take a task: the next
    # submission must start another thread rather than count on it.
    all_initialized = threading.Barrier(3, timeout=30)
    with pool_class(max_workers=3, initializer=all_initialized.wait) as pool:
        futures = [pool.submit(threading.get_ident) for _ in range(3)]
        assert len({future.result(timeout=60) for future in futures}) >= 1
        assert len(pool._threads) == 3


def test_failed_initializer_breaks_the_pool_like_the_stdlib(caplog):
    def bad_initializer():
        raise ValueError("no")

    release = threading.Event()
    pool = stealpool.ThreadPoolExecutor(max_workers=1, initializer=bad_initializer)
    with caplog.at_level(logging.CRITICAL, logger="concurrent.futures"):
        future = pool.submit(release.wait)
        with pytest.raises(BrokenThreadPool):
            future.result(timeout=10)
    assert any(
        record.levelno == logging.CRITICAL and record.getMessage() == "Exception in initializer:"
        for record in caplog.records
    )
    assert pool._broken == "A thread initializer failed, the thread pool is not usable anymore"
    with pytest.raises(BrokenThreadPool, match="initializer failed"):
        pool.submit(noop)
    pool.shutdown()


def test_a_failed_initializer_breaks_the_pool_even_once_the_executor_is_gone(caplog):
    # The stdlib's worker breaks the pool through its executor, if that still
    # exists; without it, queued work would wait forever (and a pool that
    # replaces workers would start one after another, each failing).
    runs = []
    release = threading.Event()

    def failing_initializer():
        runs.append(1)
        release.wait(10)
        raise ValueError("no")

    pool = stealpool.ThreadPoolExecutor(max_workers=2, initializer=failing_initializer)
    futures = [pool.submit(noop) for _ in range(5)]
    assert pool.stats()["spawned"] >= 1
    del pool
    gc.collect()
    with caplog.at_level(logging.CRITICAL, logger="concurrent.futures"):
        release.set()
        for future in futures:
            with pytest.raises(BrokenThreadPool):
                future.result(timeout=10)
    assert 1 <= len(runs) <= 2


def test_a_pool_that_breaks_leaves_a_cancelled_queued_future_cancelled_and_notifies_its_waiters(caplog, monkeypatch):
    # The stdlib's pool calls set_exception on it, which raises in its worker
    # and strands the futures queued behind it, and never notifies its waiters.
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    release = threading.Event()

    def failing_initializer():
        release.wait(10)
        raise ValueError("no")

    pool = stealpool.ThreadPoolExecutor(max_workers=1, initializer=failing_initializer)
    first, cancelled, last = (pool.submit(noop) for _ in range(3))
    assert cancelled.cancel()
    with caplog.at_level(logging.CRITICAL, logger="concurrent.futures"):
        release.set()
        done, not_done = concurrent.futures.wait([first, cancelled, last], timeout=10)
    assert not not_done
    assert cancelled.cancelled()
    assert isinstance(last.exception(), BrokenThreadPool)
    assert unraisable == []
    pool.shutdown()


def test_threads_are_named_by_prefix_everywhere():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.threadName)

    logger = logging.getLogger("stealpool-test-names")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)

    def report():
        logger.info("hello")
        with open(f"/proc/self/task/{threading.get_native_id()}/comm") as comm:
            return threading.current_thread().name, comm.read().strip()

    with stealpool.ThreadPoolExecutor(max_workers=1, thread_name_prefix="named") as pool:
        python_name, os_name = pool.submit(report).result()
    assert python_name == "named_0"
    assert records == ["named_0"]
    assert os_name == "named_0"


def test_a_nul_byte_in_the_prefix_still_runs_work_like_the_stdlib():
    with stealpool.ThreadPoolExecutor(max_workers=2, thread_name_prefix="a\0b") as pool:
        assert pool.submit(lambda: threading.current_thread().name).result(timeout=10) == "a\0b_0"
        assert pool.submit(lambda: 3).result(timeout=10) == 3
        assert [thread.name for thread in pool._threads] == ["a\0b_0"]
    pool.shutdown(wait=False)


def test_a_thread_that_cannot_start_is_the_stdlibs_error_and_the_pool_stays_sound():
    huge_stack = 1 << 46  # accepted by threading.stack_size, refused by the OS
    previous = threading.stack_size(huge_stack)
    try:
        pool = stealpool.ThreadPoolExecutor(max_workers=2)
    finally:
        threading.stack_size(previous)
    with pytest.raises(RuntimeError, match="^can't start new thread$") as refused:
        pool.submit(noop)
    assert isinstance(refused.value.__cause__, OSError)
    assert pool.stats()["workers"] == 0 and pool._threads == set()
    with pytest.raises(RuntimeError, match="^can't start new thread$"):
        pool.submit(noop)
    pool.shutdown(wait=False)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(noop)


def test_threads_are_counted_as_soon_as_submit_returns_like_the_stdlib():
    release = threading.Event()
    with stealpool.ThreadPoolExecutor(max_workers=4) as pool:
        for expected in (1, 2, 3):
            pool.submit(release.wait)
            assert len(pool._threads) == expected
        for _ in range(60):
            pool.submit(release.wait)
        assert len(pool._threads) == 4 == pool.stats()["spawned"]
        release.set()


@pytest.mark.parametrize("submitters", [1, 3])
def test_a_burst_of_tasks_that_wait_for_each_other_gets_a_worker_each(submitters):
    # Submitters that find a worker searching leave their tasks to it; the
    # worker that takes one starts the next. Tasks that block must still
    # all be running at once, or the barrier breaks.
    workers = 6
    everyone_running = threading.Barrier(workers, timeout=30)
    with stealpool.ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[concurrent.futures.Future[int]] = []

        def submit_share():
            futures.extend(pool.submit(everyone_running.wait) for _ in range(workers // submitters))

        threads = [threading.Thread(target=submit_share) for _ in range(submitters)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(future.result(timeout=60) for future in futures) == list(range(workers))
        assert pool.stats()["spawned"] == workers


def test_an_idle_worker_is_reused_rather_than_another_started():
    with stealpool.ThreadPoolExecutor() as pool:
        for _ in range(3):
            pool.submit(noop).result(timeout=10)
        assert len(pool._threads) == 1 == pool.stats()["spawned"]


def cpu_ticks_of_thread(native_id: int) -> int:
    """User and system clock ticks the kernel has counted for one of this process's threads."""
    with open(f"/proc/self/task/{native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads a thread's CPU time from /proc (Linux)")
def test_an_idle_worker_stops_spinning_and_parks():
    # Workers spin a while for the next task before they park; an idle pool
    # must not keep a core busy. One second of spinning is ~100 ticks.
    with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(100):
            pool.submit(noop).result(timeout=10)
        (worker,) = pool._threads
        time.sleep(0.2)
        ticks_before = cpu_ticks_of_thread(worker.native_id)
        time.sleep(1)
        assert cpu_ticks_of_thread(worker.native_id) - ticks_before <= 5
        assert pool.stats()["idle"] == 1


def test_cancel_futures_right_after_a_burst_cancels_the_queue_not_the_started():
    pool = stealpool.ThreadPoolExecutor(max_workers=5)
    futures = [pool.submit(time.sleep, 0.1) for _ in range(50)]
    pool.shutdown(cancel_futures=True)
    cancelled = [future for future in futures if future.cancelled()]
    others = [future for future in futures if not future.cancelled()]
    assert len(cancelled) > 20
    assert others and all(future.done() and future.exception() is None for future in others)
    assert pool.stats()["completed"] == len(others)


def test_default_prefix_counts_like_the_stdlib():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        name = pool.submit(lambda: threading.current_thread().name).result()
    assert name.startswith("ThreadPoolExecutor-") and name.endswith("_0")
    assert pool._thread_name_prefix == name[: -len("_0")]


def test_threads_attribute_lists_live_workers_with_the_thread_interface():
    release = threading.Event()
    pool = stealpool.ThreadPoolExecutor(max_workers=2, thread_name_prefix="live")
    for _ in range(2):
        pool.submit(release.wait)
    while len(pool._threads) < 2:
        time.sleep(0.001)
    threads = pool._threads
    assert {t.name for t in threads} == {"live_0", "live_1"}
    assert all(t.is_alive() for t in threads)
    release.set()
    pool.shutdown()
    for thread in threads:
        thread.join()
        assert not thread.is_alive()
    assert pool._threads == set()


def test_tasks_see_what_the_initializer_left_in_the_workers_context():
    # The stdlib runs tasks in the context the initializer ran in; stealpool
    # runs each in a copy of it, so a task's own set never reaches the next.
    var = contextvars.ContextVar("var", default=None)

    def initializer():
        decimal.getcontext().prec = 5
        var.set("from the initializer")

    def read_then_set():
        seen = (str(decimal.Decimal(1) / decimal.Decimal(3)), var.get())
        var.set("from a task")
        decimal.setcontext(decimal.Context(prec=2))
        return seen

    with stealpool.ThreadPoolExecutor(max_workers=1, initializer=initializer) as pool:
        seen = [pool.submit(read_then_set).result(timeout=10) for _ in range(3)]
        assert pool.stats()["completed"] == 3
    assert seen == [("0.33333", "from the initializer")] * 3


def test_threading_local_persists_across_tasks_on_one_worker():
    local = threading.local()

    def count():
        local.n = getattr(local, "n", 0) + 1
        return local.n

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        assert [pool.submit(count).result() for _ in range(3)] == [1, 2, 3]


def test_each_task_runs_in_its_own_context():
    var = contextvars.ContextVar("var", default="unset")

    def set_then_read():
        before = var.get()
        var.set("set by a task")
        return before

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        assert [pool.submit(set_then_read).result() for _ in range(3)] == ["unset"] * 3


def test_done_futures_hold_no_reference_through_the_pool():
    class Thing:
        def __call__(self, arg):
            return None

    class Failure(Exception):
        pass

    def make():
        return Thing()

    def fail(arg):
        raise Failure(arg)

    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        fn, arg = Thing(), Thing()
        fn_ref, arg_ref = weakref.ref(fn), weakref.ref(arg)
        pool.submit(fn, arg).result()
        pool.submit(lambda: None).result()
        result_future = pool.submit(make)
        result_ref = weakref.ref(result_future.result())
        error_future = pool.submit(fail, "x")
        error_ref = weakref.ref(error_future.exception())
        del fn, arg, result_future, error_future
        gc.collect()
        assert fn_ref() is None and arg_ref() is None
        assert result_ref() is None and error_ref() is None


def test_stats_snapshot():
    with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(noop) for _ in range(50)]:
            future.result()
        stats = pool.stats()
    assert set(stats) == {
        "workers",
        "idle",
        "queued",
        "running",
        "completed",
        "stolen",
        "spawned",
        "retired",
        "panicked",
        "bridged",
        "ran_inline",
        "waiting_submitters",
    }
    assert stats["completed"] == 50
    assert 1 <= stats["spawned"] <= 2
    assert stats["queued"] == 0 and stats["running"] == 0


@pytest.mark.parametrize("idle_timeout", [sys.maxsize, float("inf"), 1e300])
def test_a_huge_idle_timeout_keeps_workers_forever(idle_timeout):
    with stealpool.ThreadPoolExecutor(max_workers=2, idle_timeout=idle_timeout) as pool:
        for _ in range(5):
            assert pool.submit(lambda: 7).result(timeout=10) == 7
        time.sleep(0.1)  # long enough for a worker that fails to park to be replaced
        assert pool.submit(lambda: 8).result(timeout=10) == 8
        stats = pool.stats()
        assert stats["spawned"] == stats["workers"] == len(pool._threads) == 1
        assert stats["retired"] == stats["panicked"] == 0


def test_idle_workers_retire_and_come_back():
    with stealpool.ThreadPoolExecutor(max_workers=2, idle_timeout=0.05) as pool:
        pool.submit(noop).result()
        deadline = time.monotonic() + 10
        while pool.stats()["workers"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.stats()["workers"] == 0
        assert pool.stats()["retired"] >= 1
        assert pool.submit(lambda: 9).result(timeout=10) == 9


def test_submitting_from_many_threads_loses_nothing():
    with stealpool.ThreadPoolExecutor(max_workers=4) as pool:
        results = [[] for _ in range(8)]

        def submitter(i):
            results[i] = [pool.submit(pow, i, j) for j in range(2000)]

        threads = [threading.Thread(target=submitter, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, futures in enumerate(results):
            assert [f.result(timeout=30) for f in futures] == [pow(i, j) for j in range(2000)]


def test_tasks_submitted_from_workers_run_even_when_the_submitter_blocks():
    with stealpool.ThreadPoolExecutor(max_workers=2) as pool:

        def outer():
            return pool.submit(lambda: "inner").result(timeout=10)

        assert pool.submit(outer).result(timeout=20) == "inner"


def test_deep_recursion_fits_the_worker_stack():
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    limit = min(sys.getrecursionlimit() - 50, 900)
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(depth, limit).result() == limit


def thread_names_running(pool, tasks=4):
    """The names of the threads that ran ``tasks`` tasks, all submitted
    before any could finish, so each took a thread of its own while there
    was room for one."""
    release = threading.Event()

    def blocked_name():
        release.wait(10)
        return threading.current_thread().name

    futures = [pool.submit(blocked_name) for _ in range(tasks)]
    release.set()
    return {future.result(timeout=10) for future in futures}


POOL_CLASSES = [concurrent.futures.ThreadPoolExecutor, stealpool.ThreadPoolExecutor]


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
@pytest.mark.parametrize(
    "max_workers, prefix, names",
    [
        (2.0, "float", {"float_0", "float_1"}),
        (1.5, "fraction", {"fraction_0", "fraction_1"}),
        (decimal.Decimal(1), "decimal", {"decimal_0"}),
        (2**70, "huge", {"huge_0", "huge_1", "huge_2", "huge_3"}),
        (1, 5, {"5_0"}),
        (1, b"x", {"b'x'_0"}),
        (1, ("a", 1), {"('a', 1)_0"}),
    ],
)
def test_constructor_arguments_the_stdlib_accepts(pool_class, max_workers, prefix, names):
    with pool_class(max_workers=max_workers, thread_name_prefix=prefix) as pool:
        assert pool._max_workers == max_workers
        assert pool._thread_name_prefix == prefix
        ran_on = thread_names_running(pool)
    assert ran_on <= names and ran_on


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
@pytest.mark.parametrize(
    "max_workers, error, message",
    [
        ("2", TypeError, "'<=' not supported between instances of 'str' and 'int'"),
        (0.0, ValueError, "max_workers must be greater than 0"),
        (-(2**70), ValueError, "max_workers must be greater than 0"),
    ],
)
def test_constructor_arguments_the_stdlib_refuses(pool_class, max_workers, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        pool_class(max_workers=max_workers)


@pytest.mark.parametrize("pool_class", POOL_CLASSES)
def test_assigning_max_workers_after_construction_changes_the_bound(pool_class):
    with pool_class(max_workers=3, thread_name_prefix="lowered") as pool:
        pool._max_workers = 1
        assert thread_names_running(pool) == {"lowered_0"}
        pool._max_workers = 2
        assert thread_names_running(pool) <= {"lowered_0", "lowered_1"}


def test_completed_counts_a_task_before_its_caller_can_see_the_result():
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        release = threading.Event()
        checked = threading.Event()
        pool.submit(release.wait, 10)
        future = pool.submit(pow, 2, 3)
        # The callback runs on the worker after the result is set, and holds
        # it there until the count was read.
        future.add_done_callback(lambda _: checked.wait(10))
        release.set()
        assert future.result(timeout=10) == 8
        completed = pool.stats()["completed"]
        checked.set()
    assert completed == 2
