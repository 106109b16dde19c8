"""Each CPython, asyncio and anyio internal listed in ``stealpool/_internals.py``,
taken away in a fresh interpreter: ``import stealpool`` still works, a
``RuntimeWarning`` names what is missing, and the feature takes the
stdlib's (or anyio's) own path.

Most internals are taken away only while stealpool is imported, then put
back: the stdlib itself still uses them, and a Python that really lacked
one would have changed that code too.
"""

from __future__ import annotations

import pytest
from python_subprocess import run_python

# Runs `use` with `owner.name` gone while stealpool is imported.
WITHOUT = """
import warnings
warnings.simplefilter("always")
{imports}
saved = {owner}.__dict__["{name}"]
delattr({owner}, "{name}")
import stealpool
setattr({owner}, "{name}", saved)
{use}
"""


def run_without(owner: str, name: str, use: str, imports: str = "") -> str:
    """Runs ``use`` after importing stealpool without ``owner.name``; its stdout."""
    code = WITHOUT.format(imports=imports or f"import {owner.split('.')[0]}", owner=owner, name=name, use=use)
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "RuntimeWarning: stealpool: this Python has no" in result.stderr, result.stderr
    assert name in result.stderr
    return result.stdout


def test_without_future_internals_futures_are_the_stdlibs_and_no_task_runs_inline():
    stdout = run_without(
        "concurrent.futures._base",
        "_AllCompletedWaiter",
        """
pool = stealpool.ThreadPoolExecutor(max_workers=2)
def parent():
    return pool.submit(pow, 2, 10).result()
future = pool.submit(parent)
print(type(future).__module__, type(future).__name__, future.result(), pool.stats()["ran_inline"])
""",
        imports="import concurrent.futures._base",
    )
    assert stdout == "concurrent.futures._base Future 1024 0\n"


def test_without_the_futures_logger_a_failed_initializer_logs_to_the_same_logger():
    stdout = run_without(
        "concurrent.futures._base",
        "LOGGER",
        """
import logging
class Remember(logging.Handler):
    def emit(self, record):
        print(record.name, record.getMessage())
logging.getLogger("concurrent.futures").addHandler(Remember())
pool = stealpool.ThreadPoolExecutor(max_workers=1, initializer=lambda: 1 / 0)
print(type(pool.submit(print).exception()).__name__)
""",
        imports="import concurrent.futures._base",
    )
    assert stdout == "concurrent.futures Exception in initializer:\nBrokenThreadPool\n"


def test_without_the_pool_counter_default_names_are_still_numbered():
    stdout = run_without(
        "concurrent.futures.ThreadPoolExecutor",
        "_counter",
        """
first, second = stealpool.ThreadPoolExecutor(), stealpool.ThreadPoolExecutor()
print(first._thread_name_prefix, second._thread_name_prefix)
""",
        imports="import concurrent.futures",
    )
    first, second = stdout.split()
    assert first.startswith("ThreadPoolExecutor-") and second.startswith("ThreadPoolExecutor-")
    assert first != second


def test_without_dummy_threads_workers_run_unregistered():
    stdout = run_without(
        "threading",
        "_DummyThread",
        """
pool = stealpool.ThreadPoolExecutor(max_workers=1, thread_name_prefix="worker")
print(pool.submit(lambda: threading.current_thread().name).result().startswith("worker"), len(pool._threads))
""",
    )
    assert stdout == "False 0\n"


def test_without_threading_hooks_workers_run_untraced():
    stdout = run_without(
        "threading",
        "_trace_hook",
        """
import sys
def trace(frame, event, arg):
    return None
threading.settrace(trace)
pool = stealpool.ThreadPoolExecutor(max_workers=1)
print(pool.submit(sys.gettrace).result())
""",
    )
    assert stdout == "None\n"


def test_without_register_atexit_queued_work_still_runs_at_exit():
    stdout = run_without(
        "threading",
        "_register_atexit",
        """
import time
def slow():
    time.sleep(0.1)
    print("ran")
stealpool.ThreadPoolExecutor(max_workers=1).submit(slow)
""",
        # concurrent.futures.thread, which _core imports, registers with it too.
        imports="import threading, concurrent.futures.thread",
    )
    assert stdout == "ran\n"


def test_without_convert_future_exc_errors_reach_asyncio_futures_as_they_are():
    stdout = run_without(
        "asyncio.futures",
        "_convert_future_exc",
        """
import concurrent.futures
def raises():
    raise concurrent.futures.InvalidStateError("invalid")
async def main():
    try:
        await asyncio.get_running_loop().run_in_executor(None, raises)
    except BaseException as error:
        print(type(error).__module__, type(error).__name__)
stealpool.run(main())
""",
        imports="import asyncio.futures",
    )
    assert stdout == "concurrent.futures._base InvalidStateError\n"


def test_without_the_loops_own_checks_run_in_executor_checks_as_for_uvloop():
    stdout = run_without(
        "asyncio.BaseEventLoop",
        "_check_closed",
        """
loop = asyncio.new_event_loop()
stealpool.install(loop)
print(loop.run_until_complete(loop.run_in_executor(None, pow, 2, 3)))
# Closed as far as is_closed() tells, its stealpool executor still set.
loop.is_closed = lambda: True
try:
    loop.run_in_executor(None, pow, 2, 3)
except RuntimeError as error:
    print(error)
""",
        imports="import asyncio",
    )
    assert stdout == "8\nEvent loop is closed\n"


def test_without_lock_fork_reinit_module_locks_are_kept_and_pools_work():
    result = run_python(
        """
        import asyncio, concurrent.futures.thread, logging, threading, warnings
        warnings.simplefilter("always")
        real_lock = threading.Lock
        class LockWithoutReinit:
            def __init__(self):
                self.lock = real_lock()
            def __enter__(self):
                return self.lock.__enter__()
            def __exit__(self, *exc_info):
                return self.lock.__exit__(*exc_info)
        threading.Lock = LockWithoutReinit
        import stealpool
        threading.Lock = real_lock
        print(stealpool.ThreadPoolExecutor(max_workers=1).submit(pow, 2, 5).result())
        """
    )
    assert result.returncode == 0, result.stderr
    assert "stealpool: this Python has no lock._at_fork_reinit" in result.stderr
    assert result.stdout == "32\n"


def test_without_an_anyio_internal_anyio_keeps_its_own_threads():
    pytest.importorskip("anyio")
    result = run_python(
        """
        import asyncio, threading, warnings
        warnings.simplefilter("always")
        import anyio, anyio.to_thread
        import anyio._backends._asyncio
        import anyio._core._eventloop as eventloop
        import stealpool
        saved = eventloop.threadlocals
        del eventloop.threadlocals
        async def main():
            stealpool.install()
            eventloop.threadlocals = saved
            name = await anyio.to_thread.run_sync(lambda: threading.current_thread().name)
            print(name.startswith("asyncio"))
        asyncio.run(main())
        """
    )
    assert result.returncode == 0, result.stderr
    assert "stealpool: this Python has no anyio internal" in result.stderr
    assert result.stdout == "False\n"
