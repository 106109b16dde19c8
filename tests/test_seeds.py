"""The seed documents' examples, run with stealpool.

Every code example of the tutorials and reference pages stealpool was started
from, with stealpool in place of the stdlib pool: ``stealpool.ThreadPoolExecutor``
for ``concurrent.futures.ThreadPoolExecutor``, ``stealpool.run`` /
``stealpool.install`` for ``asyncio.run`` and the default executor,
``loop.set_default_executor(stealpool.ThreadPoolExecutor(...))`` where an
example sets one. Process pools stay the stdlib's (they are not about threads).

Each test checks the example's observable behaviour and that its thread work
really ran on stealpool: worker thread names (``asyncio_N`` for the
process-wide pool behind ``install()``, ``<prefix>_N`` for a pool of one's
own) together with ``stats()`` counters, since the stdlib names its default
executor's threads ``asyncio_N`` too: ``bridged`` for the process-wide pool
(bumped before the asyncio future is resolved; read on the pool object taken
before the run, since the last loop to shut down retires that pool and the
next ``install()`` makes a new one), ``completed`` for a pool of
one's own once it is shut down (a worker bumps ``completed`` just after it
resolved the future, so an earlier read may lag by one). Sleeps and CPU loops
are scaled down.
"""

import asyncio
import concurrent.futures
import functools
import logging
import os
import random
import re
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import warnings
from datetime import datetime

import pytest
import stealpool

# Python 3.12+ warns when a multi-threaded process forks (the stdlib's
# ProcessPoolExecutor does, on Linux); stealpool's workers are threads.
fork_warning_ok = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")

needs_urandom = pytest.mark.skipif(not os.path.exists("/dev/urandom"), reason="the example reads /dev/urandom")

DEFAULT_NAME = re.compile(r"^asyncio_\d+$")


def delta(before, after, key):
    return after[key] - before[key]


def assert_named_by(pool, names, *, max_distinct=None):
    """Every name is one of ``pool``'s workers: ``<prefix>_<N>``."""
    pattern = re.compile(rf"^{re.escape(pool._thread_name_prefix)}_\d+$")
    assert names, "no worker ran"
    for name in names:
        assert pattern.match(name), (name, pool._thread_name_prefix)
    if max_distinct is not None:
        assert len(set(names)) <= max_distinct, names


# ---------------------------------------------------------------------------
# Seed 000_4e85d2668e8bfaaa.txt -- Python docs, loop.run_in_executor():
# the "Options" example (1. default executor, 2. custom thread pool,
# 3. custom process pool), blocking_io() reading /dev/urandom and cpu_bound().
# Default executor -> stealpool.run(); concurrent.futures.ThreadPoolExecutor()
# -> stealpool.ThreadPoolExecutor(); the process pool stays the stdlib's
# (max_workers=2 instead of one per CPU, to fork fewer processes).
# cpu_bound's range(10 ** 7) is scaled down to range(10 ** 4).
# ---------------------------------------------------------------------------


def _000_cpu_bound():
    # CPU-bound operations will block the event loop:
    # in general it is preferable to run them in a
    # process pool.
    return sum(i * i for i in range(10**4))


@needs_urandom
@fork_warning_ok
def test_000_docs_run_in_executor_options(capsys):
    thread_names = []
    pools = []

    def blocking_io():
        # File operations (such as logging) can block the
        # event loop: run them in a thread pool.
        thread_names.append(threading.current_thread().name)
        with open("/dev/urandom", "rb") as f:
            return f.read(100)

    async def main():
        loop = asyncio.get_running_loop()
        results = []

        ## Options:

        # 1. Run in the default loop's executor:
        fut = loop.run_in_executor(None, blocking_io)
        assert isinstance(fut, asyncio.Future)  # "This method returns a asyncio.Future"
        result = await fut
        print("default thread pool", result)
        results.append(result)

        # 2. Run in a custom thread pool:
        with stealpool.ThreadPoolExecutor() as pool:
            pools.append(pool)
            fut = loop.run_in_executor(pool, blocking_io)
            assert isinstance(fut, asyncio.Future)
            result = await fut
            print("custom thread pool", result)
            results.append(result)

        # 3. Run in a custom process pool:
        with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
            result = await loop.run_in_executor(pool, _000_cpu_bound)
            print("custom process pool", result)
            results.append(result)
        return results

    shared = stealpool.shared_pool()
    before = shared.stats()
    default_result, custom_result, process_result = stealpool.run(main())
    after = shared.stats()

    assert isinstance(default_result, bytes) and len(default_result) == 100
    assert isinstance(custom_result, bytes) and len(custom_result) == 100
    assert process_result == sum(i * i for i in range(10**4))
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" b")[0] for line in out] == [
        "default thread pool",
        "custom thread pool",
        f"custom process pool {process_result}",
    ]

    # Option 1 ran on the process-wide stealpool pool, through its bridge;
    # option 3 (a process pool) was left to the loop's own path.
    assert DEFAULT_NAME.match(thread_names[0]), thread_names
    assert delta(before, after, "bridged") == 1
    # Option 2 ran on the custom stealpool pool.
    (pool,) = pools
    assert_named_by(pool, thread_names[1:])
    assert pool.stats()["completed"] == 1
    assert pool.stats()["bridged"] == 1


# Seed 000_4e85d2668e8bfaaa.txt -- Python docs, run_in_executor() prose:
# "Use functools.partial() to pass keyword arguments to func" (no example
# in the page; the documented pattern, on the stealpool default executor and
# on a stealpool.ThreadPoolExecutor).
def test_000_docs_partial_for_keyword_arguments():
    seen = []

    def func(a, *, b):
        seen.append(threading.current_thread().name)
        return (a, b)

    async def main():
        loop = asyncio.get_running_loop()
        r1 = await loop.run_in_executor(None, functools.partial(func, 1, b=2))
        with stealpool.ThreadPoolExecutor(thread_name_prefix="partial") as pool:
            r2 = await loop.run_in_executor(pool, functools.partial(func, 3, b=4))
        return r1, r2, pool

    shared = stealpool.shared_pool()
    before = shared.stats()
    r1, r2, pool = stealpool.run(main())
    after = shared.stats()
    assert (r1, r2) == ((1, 2), (3, 4))
    assert DEFAULT_NAME.match(seen[0]), seen
    assert seen[1].startswith("partial_"), seen
    assert delta(before, after, "bridged") == 1
    assert pool.stats()["completed"] == 1


# ---------------------------------------------------------------------------
# Seed 001_f7c8fa819a3444ce.txt -- "Python asyncio.loop.run_in_executor()
# method (3 examples)", Basic example: blocking_func() run with
# loop.run_in_executor(None, ...), start/finish times printed. The page lost
# some lines (the time.sleep(5), the result print, strftime calls and
# asyncio.run); they are restored, time.sleep(5) scaled to 0.05 s, and
# asyncio.run(main()) is stealpool.run(main()).
# ---------------------------------------------------------------------------
def test_001_basic_example(capsys):
    thread_names = []

    # This is a blocking function
    def blocking_func():
        thread_names.append(threading.current_thread().name)
        # Simulate a blocking operation by sleeping
        # Note that we are using time.sleep() instead of asyncio.sleep()
        time.sleep(0.05)
        return "This is the result of the blocking function."

    # This is the main coroutine
    async def main():
        # Print the start time
        print(f"Started at {datetime.now().strftime('%H:%M:%S')}")

        # Get the current event loop
        loop = asyncio.get_running_loop()

        # Run the blocking function in a thread pool and get a Future object
        future = loop.run_in_executor(None, blocking_func)
        assert isinstance(future, asyncio.Future)

        # Wait for the Future object to complete and get the result
        result = await future

        # Print the result
        print(result)

        # Print the end time
        print(f"Finished at {datetime.now().strftime('%H:%M:%S')}")
        return result

    shared = stealpool.shared_pool()
    before = shared.stats()
    result = stealpool.run(main())
    after = shared.stats()

    assert result == "This is the result of the blocking function."
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3, out
    assert re.match(r"^Started at \d\d:\d\d:\d\d$", out[0])
    assert out[1] == "This is the result of the blocking function."
    assert re.match(r"^Finished at \d\d:\d\d:\d\d$", out[2])
    assert len(thread_names) == 1 and DEFAULT_NAME.match(thread_names[0]), thread_names
    assert delta(before, after, "bridged") == 1


# ---------------------------------------------------------------------------
# Seed 001_f7c8fa819a3444ce.txt -- Advanced example: five lucky_number()
# calls on the default executor, gathered, ValueError("Unlucky number!")
# caught when a 7 comes up. The page lost the "try:" line (restored) and
# asyncio.run (stealpool.run here). range(1000000) is scaled to range(10**4).
# Run three ways: with the real random (either outcome), with randint forced
# to never give 7 (all five results), and forced to always give 7 (exception).
# ---------------------------------------------------------------------------
LUCKY_RANGE = 10**4


@pytest.mark.parametrize("dice", ["random", "never_7", "always_7"])
def test_001_advanced_example(dice, monkeypatch, capsys):
    if dice == "never_7":
        monkeypatch.setattr(random, "randint", lambda a, b: 3)
    elif dice == "always_7":
        monkeypatch.setattr(random, "randint", lambda a, b: 7)
    thread_names = []

    # Define the lucky_number() function
    def lucky_number():
        thread_names.append(threading.current_thread().name)
        # Generate a random number between 1 and 10
        n = random.randint(1, 10)

        # If the number is 7, raise an exception
        if n == 7:
            raise ValueError("Unlucky number!")
        # Otherwise, perform some CPU-intensive calculations
        x = 0
        for i in range(LUCKY_RANGE):
            x += i * n

        # Return the final value of x
        return x

    # Define the main() coroutine
    async def main():
        # Get the current event loop
        loop = asyncio.get_running_loop()

        # start time
        start = loop.time()

        # Create a list of futures for running lucky_number() five times in different threads
        futures = [loop.run_in_executor(None, lucky_number) for _ in range(5)]

        # Wait for all futures to complete and collect the results
        outcome = None
        try:
            results = await asyncio.gather(*futures)
            print(f"The lucky numbers are {results}")
            outcome = ("results", results)
        except ValueError as e:
            print(f"An exception occurred: {e}")
            outcome = ("error", e)

        # end time
        end = loop.time()

        # Print the total execution time
        print(f"Total execution time: {end - start} second(s)")
        return outcome

    shared = stealpool.shared_pool()
    before = shared.stats()
    kind, value = stealpool.run(main())
    after = shared.stats()

    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].startswith("Total execution time: "), out
    unit = sum(range(LUCKY_RANGE))
    if kind == "results":
        assert dice != "always_7"
        assert len(value) == 5
        for x in value:
            assert x % unit == 0 and x // unit in {1, 2, 3, 4, 5, 6, 8, 9, 10}, x
        if dice == "never_7":
            assert value == [3 * unit] * 5
        assert out[0] == f"The lucky numbers are {value}"
    else:
        assert dice != "never_7"
        assert isinstance(value, ValueError) and str(value) == "Unlucky number!"
        assert out[0] == "An exception occurred: Unlucky number!"

    # All five calls ran (stealpool.run waits for them at shutdown) on the
    # process-wide stealpool pool, through the bridge.
    assert len(thread_names) == 5
    for name in thread_names:
        assert DEFAULT_NAME.match(name), thread_names
    assert delta(before, after, "bridged") == 5


# ---------------------------------------------------------------------------
# Seed 002_8a720078ce0120cd.txt -- PyMOTW "Combining Coroutines with Threads
# and Processes", thread example (asyncio_executor_thread.py): blocks(n)
# logging 'running'/'done' from a limited pool (max_workers=3),
# run_blocking_tasks() with asyncio.wait(), logging format
# '%(threadName)10s %(name)18s: %(message)s'. The page lost several lines
# (log.info calls, time.sleep(0.1), basicConfig, run_until_complete); they are
# restored, the sleep scaled to 0.05 s, and the log goes to a list handler on
# the root logger instead of logging.basicConfig(stream=sys.stderr).
# concurrent.futures.ThreadPoolExecutor(max_workers=3) ->
# stealpool.ThreadPoolExecutor(max_workers=3). The module-level
# asyncio.get_event_loop() (deprecated without a running loop) is
# asyncio.new_event_loop(). Run on a plain loop (the loop's own
# run_in_executor path) and on a loop with stealpool.install(loop) (the
# bridge).
# ---------------------------------------------------------------------------


def blocks(n):
    log = logging.getLogger(f"blocks({n})")
    log.info("running")
    time.sleep(0.05)
    log.info("done")
    return n**2


async def run_blocking_tasks(executor):
    log = logging.getLogger("run_blocking_tasks")
    log.info("starting")

    log.info("creating executor tasks")
    loop = asyncio.get_event_loop()
    blocking_tasks = [loop.run_in_executor(executor, blocks, i) for i in range(6)]
    log.info("waiting for executor tasks")
    completed, pending = await asyncio.wait(blocking_tasks)
    results = [t.result() for t in completed]
    log.info(f"results: {results!r}")

    log.info("exiting")
    return results


class _ListHandler(logging.Handler):
    def __init__(self, fmt):
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(fmt))
        self.records = []
        self.lines = []

    def emit(self, record):
        if record.name == "run_blocking_tasks" or record.name.startswith("blocks("):
            self.records.append(record)
            self.lines.append(self.format(record))


class _logging_to_list:
    """logging.basicConfig(level=INFO, format=fmt), into a list, undone after."""

    def __init__(self, fmt):
        self.handler = _ListHandler(fmt)

    def __enter__(self):
        root = logging.getLogger()
        self.old_level = root.level
        root.setLevel(logging.INFO)
        root.addHandler(self.handler)
        return self.handler

    def __exit__(self, *exc):
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.old_level)


@pytest.mark.parametrize("loop_kind", ["plain_loop", "installed_loop"])
def test_002_pymotw_executor_thread(loop_kind):
    # Configure logging to show the name of the thread where the log
    # message originates.
    with _logging_to_list("%(threadName)10s %(name)18s: %(message)s") as log:
        # Create a limited thread pool.
        executor = stealpool.ThreadPoolExecutor(
            max_workers=3,
        )

        event_loop = asyncio.new_event_loop()
        if loop_kind == "installed_loop":
            stealpool.install(event_loop)
        try:
            results = event_loop.run_until_complete(run_blocking_tasks(executor))
        finally:
            event_loop.close()
    # Read after shutdown(wait=True): a worker bumps 'completed' just after
    # it resolved the future, so a read right after the last await may lag.
    executor.shutdown()
    stats = executor.stats()

    # results come from the completed set: order not guaranteed.
    assert sorted(results) == [0, 1, 4, 9, 16, 25]

    main_lines = [r for r in log.records if r.name == "run_blocking_tasks"]
    assert [r.getMessage() for r in main_lines] == [
        "starting",
        "creating executor tasks",
        "waiting for executor tasks",
        f"results: {results!r}",
        "exiting",
    ]
    assert all(r.threadName == "MainThread" for r in main_lines)
    assert all(
        line.endswith(r.getMessage()) and "run_blocking_tasks: " in line
        for line, r in zip(log.lines, log.records)
        if r.name == "run_blocking_tasks"
    )

    # Each blocks(n) logged 'running' then 'done', from one worker thread of
    # the limited stealpool pool; 6 calls on at most 3 threads: threads reused.
    worker_names = []
    for n in range(6):
        recs = [r for r in log.records if r.name == f"blocks({n})"]
        assert [r.getMessage() for r in recs] == ["running", "done"], n
        assert recs[0].threadName == recs[1].threadName
        worker_names.append(recs[0].threadName)
    assert_named_by(executor, worker_names, max_distinct=3)
    assert "MainThread" not in worker_names
    assert stats["completed"] == 6
    assert stats["spawned"] <= 3
    if loop_kind == "installed_loop":
        assert stats["bridged"] == 6


# ---------------------------------------------------------------------------
# Seed 002_8a720078ce0120cd.txt -- PyMOTW process variant
# (asyncio_executor_process.py): the same program with
# concurrent.futures.ProcessPoolExecutor(max_workers=3) and the format
# 'PID %(process)5s %(name)18s: %(message)s'. The process pool stays the
# stdlib's; the loop has stealpool installed (its default executor is
# stealpool), and the test checks that stealpool's routing leaves the process
# pool to the loop's own path: blocks() ran in other processes (their log
# records never reach this process's handler) and nothing was bridged.
# ---------------------------------------------------------------------------
@fork_warning_ok
def test_002_pymotw_executor_process():
    with _logging_to_list("PID %(process)5s %(name)18s: %(message)s") as log:
        # Create a limited process pool.
        executor = concurrent.futures.ProcessPoolExecutor(
            max_workers=3,
        )

        event_loop = asyncio.new_event_loop()
        installed = stealpool.install(event_loop)
        before = installed.stats()
        try:
            results = event_loop.run_until_complete(run_blocking_tasks(executor))
        finally:
            event_loop.close()
            executor.shutdown()
        after = installed.stats()

    assert sorted(results) == [0, 1, 4, 9, 16, 25]
    me = os.getpid()
    assert [line for line in log.lines] == [
        "PID {:>5} {:>18}: {}".format(me, "run_blocking_tasks", msg)
        for msg in (
            "starting",
            "creating executor tasks",
            "waiting for executor tasks",
            f"results: {results!r}",
            "exiting",
        )
    ]
    assert not [r for r in log.records if r.name.startswith("blocks(")]
    assert isinstance(installed, stealpool.ThreadPoolExecutor)
    assert delta(before, after, "bridged") == 0


# ---------------------------------------------------------------------------
# Seed 003_f96aabff986c3d42.txt -- "Using asyncio.to_thread() for
# Simplicity": blocking_sync_function(seconds) awaited once, then two gathered
# concurrently; "Output order matches the gather order, not the completion
# order." Sleeps 2, 3, 1 s scaled to 0.02, 0.03, 0.01 s. asyncio.run(main())
# with the stdlib default executor is run three ways: stealpool.run(main())
# (asyncio.to_thread on the installed default executor),
# asyncio.run(main()) with stealpool.to_thread in place of asyncio.to_thread,
# and asyncio.Runner(loop_factory=stealpool.loop_factory) (3.11+).
# ---------------------------------------------------------------------------
RUNNERS = [
    "stealpool.run",
    "stealpool.to_thread",
    pytest.param(
        "Runner(loop_factory)",
        marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner is new in Python 3.11"),
    ),
]


@pytest.mark.parametrize("runner", RUNNERS)
def test_003_to_thread_example(runner, capsys):
    thread_names = []
    completion_order = []
    to_thread = stealpool.to_thread if runner == "stealpool.to_thread" else asyncio.to_thread

    def blocking_sync_function(seconds: float) -> str:
        """A blocking function that simulates a long-running operation."""
        thread_names.append(threading.current_thread().name)
        time.sleep(seconds)  # This is the blocking call
        completion_order.append(seconds)
        return f"Operation completed after {seconds} seconds"

    async def main():
        # Schedule the blocking function to run in a separate thread and await its result.
        result = await to_thread(blocking_sync_function, 0.02)
        print(result)

        # Running multiple blocking operations concurrently
        results = await asyncio.gather(
            to_thread(blocking_sync_function, 0.03),
            to_thread(blocking_sync_function, 0.01),
        )
        print(results)  # Output order matches the gather order, not the completion order.
        return result, results

    shared = stealpool.shared_pool()
    before = shared.stats()
    if runner == "stealpool.run":
        result, results = stealpool.run(main())
    elif runner == "stealpool.to_thread":
        result, results = asyncio.run(main())
    else:
        with asyncio.Runner(loop_factory=stealpool.loop_factory) as r:
            result, results = r.run(main())
    after = shared.stats()

    assert result == "Operation completed after 0.02 seconds"
    assert results == [
        "Operation completed after 0.03 seconds",
        "Operation completed after 0.01 seconds",
    ]
    assert capsys.readouterr().out.splitlines() == [str(result), str(results)]
    assert sorted(completion_order) == [0.01, 0.02, 0.03]
    assert len(thread_names) == 3
    for name in thread_names:
        assert DEFAULT_NAME.match(name), thread_names
    assert delta(before, after, "bridged") == 3


# ---------------------------------------------------------------------------
# Seed 003_f96aabff986c3d42.txt -- "Using loop.run_in_executor() for Advanced
# Control": cpu_intensive_calculation(n) (time.sleep(1) scaled to 0.01 s) on
# 1. the default executor (stealpool.run), 2. a custom
# ThreadPoolExecutor(max_workers=2) with five gathered tasks
# (stealpool.ThreadPoolExecutor(max_workers=2)), 3. a ProcessPoolExecutor
# (the stdlib's, max_workers=1 for its single task).
# ---------------------------------------------------------------------------
_003_thread_names = []


def cpu_intensive_calculation(n):
    """A function that simulates a CPU-bound task."""
    _003_thread_names.append((n, threading.current_thread().name, os.getpid()))
    time.sleep(0.01)  # Simulate work
    return n * n


@fork_warning_ok
def test_003_run_in_executor_example(capsys):
    del _003_thread_names[:]
    pools = []

    async def main():
        loop = asyncio.get_running_loop()

        # 1. Using the default ThreadPoolExecutor
        result_default = await loop.run_in_executor(
            None,  # None signifies the default executor
            cpu_intensive_calculation,
            30,
        )
        print(f"Default executor result: {result_default}")

        # 2. Using a custom ThreadPoolExecutor with a limited size
        with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
            pools.append(pool)
            # Create multiple tasks using the same custom pool
            tasks = [loop.run_in_executor(pool, cpu_intensive_calculation, i) for i in range(5)]
            results = await asyncio.gather(*tasks)
            print(f"Custom pool results: {results}")

        # 3. Using a ProcessPoolExecutor for true parallelism (bypasses GIL)
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as process_pool:
            result_process = await loop.run_in_executor(process_pool, cpu_intensive_calculation, 50)
            print(f"Process pool result: {result_process}")
        return result_default, results, result_process

    shared = stealpool.shared_pool()
    before = shared.stats()
    result_default, results, result_process = stealpool.run(main())
    after = shared.stats()

    assert result_default == 900
    assert results == [0, 1, 4, 9, 16]  # gather order
    assert result_process == 2500
    assert capsys.readouterr().out.splitlines() == [
        "Default executor result: 900",
        "Custom pool results: [0, 1, 4, 9, 16]",
        "Process pool result: 2500",
    ]

    # 1. on the process-wide stealpool pool.
    me = os.getpid()
    calls = dict((n, name) for n, name, pid in _003_thread_names if pid == me)
    assert sorted(calls) == [0, 1, 2, 3, 4, 30]  # 50 ran in the child process
    assert DEFAULT_NAME.match(calls[30]), calls
    assert delta(before, after, "bridged") == 1
    # 2. on the custom stealpool pool, at most two workers.
    (pool,) = pools
    assert_named_by(pool, [calls[i] for i in range(5)], max_distinct=2)
    stats = pool.stats()
    assert stats["completed"] == 5 and stats["spawned"] <= 2
    # "Always use executors as context managers (with statement) to ensure
    # proper cleanup": the with block shut the pool down.
    with pytest.raises(RuntimeError):
        pool.submit(cpu_intensive_calculation, 1)


# Seed 003_f96aabff986c3d42.txt -- "Error Propagation" (prose, no example):
# an exception raised in the executor is re-raised in the awaiting coroutine
# and caught with try...except around the await -- for asyncio.to_thread and
# run_in_executor(None, ...) on the installed default executor, and for a
# custom stealpool.ThreadPoolExecutor; the traceback reaches the worker frame.
def test_003_error_propagation():
    thread_names = []

    def failing_operation(tag):
        thread_names.append(threading.current_thread().name)
        raise KeyError(tag)

    async def main():
        loop = asyncio.get_running_loop()
        caught = []
        with stealpool.ThreadPoolExecutor(thread_name_prefix="errors") as pool:
            for label, awaitable in [
                ("to_thread", lambda: asyncio.to_thread(failing_operation, "a")),
                ("default", lambda: loop.run_in_executor(None, failing_operation, "b")),
                ("custom", lambda: loop.run_in_executor(pool, failing_operation, "c")),
            ]:
                try:
                    await awaitable()
                except KeyError as e:
                    caught.append((label, e))
        return caught, pool

    shared = stealpool.shared_pool()
    before = shared.stats()
    caught, pool = stealpool.run(main())
    after = shared.stats()

    assert [(label, e.args) for label, e in caught] == [
        ("to_thread", ("a",)),
        ("default", ("b",)),
        ("custom", ("c",)),
    ]
    for _, e in caught:
        frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
        assert "failing_operation" in frames, frames
    assert DEFAULT_NAME.match(thread_names[0]) and DEFAULT_NAME.match(thread_names[1]), thread_names
    assert thread_names[2].startswith("errors_"), thread_names
    assert delta(before, after, "bridged") == 2
    assert pool.stats()["completed"] == 1
    assert pool.stats()["panicked"] == 0


# ---------------------------------------------------------------------------
# Seed 004_f238798acff25708.txt -- Python docs chunk, the same "Options"
# example as seed 000 but behind `if __name__ == '__main__':`, which the page
# says option 3 (the process pool) needs. Run as a real __main__ script in a
# child interpreter: asyncio.run(main()) -> stealpool.run(main()),
# concurrent.futures.ThreadPoolExecutor() -> stealpool.ThreadPoolExecutor(),
# the process pool the stdlib's (max_workers=2); cpu_bound scaled to
# range(10 ** 4); the script also prints the worker thread names and the
# stealpool counters so the parent can check them.
# ---------------------------------------------------------------------------
SEED_004_SCRIPT = textwrap.dedent(
    """
    import asyncio
    import concurrent.futures
    import threading

    import stealpool

    NAMES = []

    def blocking_io():
        # File operations (such as logging) can block the
        # event loop: run them in a thread pool.
        NAMES.append(threading.current_thread().name)
        with open('/dev/urandom', 'rb') as f:
            return f.read(100)

    def cpu_bound():
        # CPU-bound operations will block the event loop:
        # in general it is preferable to run them in a
        # process pool.
        return sum(i * i for i in range(10 ** 4))

    async def main():
        loop = asyncio.get_running_loop()

        ## Options:

        # 1. Run in the default loop's executor:
        result = await loop.run_in_executor(
            None, blocking_io)
        print('default thread pool', len(result))

        # 2. Run in a custom thread pool:
        with stealpool.ThreadPoolExecutor(thread_name_prefix='custom') as pool:
            result = await loop.run_in_executor(
                pool, blocking_io)
            print('custom thread pool', len(result))
        print('custom pool completed', pool.stats()['completed'])

        # 3. Run in a custom process pool:
        with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
            result = await loop.run_in_executor(
                pool, cpu_bound)
            print('custom process pool', result)

    if __name__ == '__main__':
        shared = stealpool.shared_pool()
        stealpool.run(main())
        print('threads', ' '.join(NAMES))
        stats = shared.stats()
        print('shared pool bridged', stats['bridged'])
    """
)


@needs_urandom
def test_004_docs_options_under_main_guard(tmp_path):
    script = tmp_path / "seed_004_example.py"
    script.write_text(SEED_004_SCRIPT)
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[:4] == [
        "default thread pool 100",
        "custom thread pool 100",
        "custom pool completed 1",
        f"custom process pool {sum(i * i for i in range(10**4))}",
    ], proc.stdout
    threads = out[4].split()
    assert threads[0] == "threads" and len(threads) == 3, out
    assert DEFAULT_NAME.match(threads[1]), threads
    assert re.match(r"^custom_\d+$", threads[2]), threads
    # Only option 1 used the process-wide pool, through the bridge.
    assert out[5] == "shared pool bridged 1", out


# ---------------------------------------------------------------------------
# Seed 004_f238798acff25708.txt -- loop.set_default_executor(executor):
# "Set executor as the default executor used by run_in_executor(). executor
# must be an instance of ThreadPoolExecutor" (an error since 3.11, a
# DeprecationWarning before). No code in the page; the documented call with
# loop.set_default_executor(stealpool.ThreadPoolExecutor(...)), under warnings
# as errors, on a plain asyncio.run loop and on a loop stealpool.run already
# installed: run_in_executor(None, ...) and asyncio.to_thread then run on
# that pool, and asyncio.run shuts it down at the end.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("runner", ["asyncio.run", "stealpool.run"])
def test_004_set_default_executor(runner):
    thread_names = []

    def work(x):
        thread_names.append(threading.current_thread().name)
        time.sleep(0.01)
        return x * 2

    async def main():
        loop = asyncio.get_running_loop()
        executor = stealpool.ThreadPoolExecutor(max_workers=2, thread_name_prefix="seed004")
        loop.set_default_executor(executor)
        a = await loop.run_in_executor(None, work, 1)
        b = await asyncio.to_thread(work, 2)
        c = await asyncio.gather(*[loop.run_in_executor(None, work, i) for i in range(4)])
        return executor, a, b, c

    shared = stealpool.shared_pool()
    before = shared.stats()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if runner == "asyncio.run":
            executor, a, b, c = asyncio.run(main())
        else:
            executor, a, b, c = stealpool.run(main())
    after = shared.stats()

    assert (a, b, c) == (2, 4, [0, 2, 4, 6])
    assert_named_by(executor, thread_names, max_distinct=2)
    assert len(thread_names) == 6
    stats = executor.stats()
    assert stats["completed"] == 6 and stats["spawned"] <= 2
    if runner == "stealpool.run":
        # install()'s routing looks the default executor up per call.
        assert stats["bridged"] == 6
    # The process-wide pool was not used.
    assert delta(before, after, "completed") == 0
    # asyncio.run shut the default executor down.
    with pytest.raises(RuntimeError):
        executor.submit(work, 1)
