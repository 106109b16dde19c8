"""Every CPython, asyncio and anyio internal stealpool touches, in one place.

Each is looked up here, once, when the package is imported (anyio's when
``install()`` first finds anyio imported, in ``_anyio.py``). One that a
Python or anyio release removed does not break ``import stealpool``: a
``RuntimeWarning`` names it, and the feature takes the stdlib's (or anyio's)
own path. Versions tested: CPython 3.9-3.13 (and 3.14, 3.14t in hosted CI),
anyio >=4.12,<5. ``tests/test_internals.py`` removes each one in a fresh
interpreter and checks the warning and the fallback; the tests named below
cover the feature with the internal present.

- ``concurrent.futures._base`` states (PENDING, RUNNING, CANCELLED,
  CANCELLED_AND_NOTIFIED, FINISHED), ``_Waiter``, ``_AllCompletedWaiter``
  and the ``Future`` attributes ``_condition``, ``_state``, ``_result``,
  ``_exception``, ``_waiters``, ``_done_callbacks``: ``_future.Future``
  makes them on first use; ``src/python/fast_future.rs`` writes ``_state``,
  ``_result`` and ``_exception`` into the ``__dict__`` of a future nobody
  waits on; ``_nested.py`` runs awaited tasks inline. Without: futures are
  ``concurrent.futures.Future``, resolved under their lock, and nested waits
  are the stdlib's. Tests: test_executor.py, test_nested_waits.py,
  test_differential_fuzz.py.
- ``concurrent.futures._base.LOGGER``: a failed initializer's log line.
  Without: ``logging.getLogger("concurrent.futures")``, the same logger.
  Tests: test_executor.py (initializer).
- ``ThreadPoolExecutor._counter``: ``ThreadPoolExecutor-N`` default names,
  counted with the stdlib's pools. Without: stealpool counts its own.
  Test: test_executor.py::test_default_prefix_counts_like_the_stdlib.
- ``threading._DummyThread``, ``Thread._daemonic``, ``threading._active``,
  ``threading._active_limbo_lock``: workers in ``threading``'s table, for
  ``current_thread()``, logging's ``threadName``, ``executor._threads``.
  Without: workers are not registered (``Dummy-N`` names, ``_threads``
  empty). Tests: test_worker_threads.py.
- ``threading._trace_hook``, ``threading._profile_hook``: the
  ``settrace``/``setprofile`` hooks every new thread gets. Without: workers
  are not traced. Tests: test_tracing.py.
- ``threading._register_atexit``: queued work finishes before ``threading``
  joins its threads at exit. Without: ``atexit.register``, which runs after
  that join. Tests: test_lifecycle.py (exit).
- ``lock._at_fork_reinit``: module locks made fresh in a forked child.
  Without: kept as they are. Tests: test_lifecycle.py (fork).
- ``asyncio.futures._convert_future_exc`` (``src/python/names.rs``):
  concurrent.futures' errors become asyncio's on asyncio futures. Without:
  set as they are. Tests: test_run_in_executor_errors.py.
- ``BaseEventLoop._check_closed``, ``_check_callback``, ``loop._debug``:
  ``run_in_executor``'s own checks, in its order and words. Without: the
  public checks made for uvloop. Tests: test_run_in_executor_errors.py.
- ``loop._default_executor``, ``loop._check_default_executor``: a loop's
  default executor, and ``shutdown_default_executor``'s error. Already
  optional (``_default_executor.py``, ``_asyncio.py``): the executor
  ``install()`` recorded; no check. Tests: test_asyncio.py.
- ``sys._is_gil_enabled`` (``src/python/fast_future.rs``): already optional:
  the GIL is taken to be on. Tests: every test, on 3.13+ and 3.14t.
- anyio's ``AsyncIOBackend.run_sync_in_worker_thread`` (replaced),
  ``_backends._asyncio.CancelScope`` and its ``_parent_scope``,
  ``_core._eventloop.threadlocals`` and ``set_current_async_library``,
  the default limiter's ``RunVar`` (``_backends._asyncio._default_thread_limiter``)
  and its storage (``lowlevel._run_vars``) (``_anyio.py``, for anyio
  versions in ``SUPPORTED_ANYIO`` only). Without: anyio's own worker
  threads. Tests: test_anyio.py, anyio_suite.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import itertools
import logging
import threading
import warnings
from concurrent.futures import _base
from typing import Any, Callable

from . import _core


def missing(internal: str, instead: str) -> None:
    warnings.warn(f"stealpool: this Python has no {internal}; {instead}", RuntimeWarning, stacklevel=3)


def _future_internals_present() -> bool:
    states = ("PENDING", "RUNNING", "CANCELLED", "CANCELLED_AND_NOTIFIED", "FINISHED")
    waiters = ("_Waiter", "_AllCompletedWaiter")
    attributes = ("_condition", "_state", "_result", "_exception", "_waiters", "_done_callbacks")
    future = concurrent.futures.Future()  # type: ignore[var-annotated]
    absent = [f"concurrent.futures._base.{name}" for name in (*states, *waiters) if not hasattr(_base, name)]
    absent += [f"Future.{name}" for name in attributes if name not in vars(future)]
    if absent:
        missing(
            ", ".join(absent),
            "futures are the stdlib's, resolved under their lock, and a waiting worker runs no task itself",
        )
        _core.use_stdlib_future_methods()
    return not absent


# Whether stealpool's Future (_future.py) can stand in for the stdlib's.
FUTURE_INTERNALS = _future_internals_present()
# The stdlib's future states; where one is missing no stealpool Future is ever made.
PENDING: str = getattr(_base, "PENDING", "PENDING")
RUNNING: str = getattr(_base, "RUNNING", "RUNNING")
CANCELLED: str = getattr(_base, "CANCELLED", "CANCELLED")
CANCELLED_AND_NOTIFIED: str = getattr(_base, "CANCELLED_AND_NOTIFIED", "CANCELLED_AND_NOTIFIED")
FINISHED: str = getattr(_base, "FINISHED", "FINISHED")


def is_all_completed_waiter(waiter: Any) -> bool:
    """Whether a future's waiter is ``wait(ALL_COMPLETED)``'s (every future needed)."""
    return isinstance(waiter, _base._AllCompletedWaiter) and not waiter.stop_on_exception


def is_waiter(waiter: Any) -> bool:
    """Whether a future's waiter is one that ``wait`` or ``as_completed`` installed."""
    return isinstance(waiter, _base._Waiter)


def _futures_logger() -> logging.Logger:
    logger: logging.Logger | None = getattr(_base, "LOGGER", None)
    if logger is None:
        missing("concurrent.futures._base.LOGGER", 'initializer failures go to logging.getLogger("concurrent.futures")')
        logger = logging.getLogger("concurrent.futures")
    return logger


# Where the stdlib's workers log a failed initializer.
FUTURES_LOGGER = _futures_logger()


def _thread_counter() -> Callable[[], int]:
    counter: Callable[[], int] | None = getattr(concurrent.futures.ThreadPoolExecutor, "_counter", None)
    if counter is None:
        missing("ThreadPoolExecutor._counter", "default thread name prefixes are counted by stealpool alone")
        counter = itertools.count().__next__
    return counter


# ThreadPoolExecutor-N for pools named by default, counted with the stdlib's pools.
next_pool_number = _thread_counter()


def _can_register_workers() -> bool:
    names = ("_DummyThread", "_active", "_active_limbo_lock")
    absent = [f"threading.{name}" for name in names if not hasattr(threading, name)]
    if "_daemonic" not in vars(threading.current_thread()):
        absent.append("Thread._daemonic")
    if absent:
        missing(", ".join(absent), "workers are not registered with threading (executor._threads stays empty)")
    return not absent


# Whether workers get an entry in threading's table of threads.
REGISTERS_WORKERS = _can_register_workers()
# What a worker's threading.Thread face derives from (never made without REGISTERS_WORKERS).
DummyThread: type[threading.Thread] = getattr(threading, "_DummyThread", threading.Thread)


def unregister_current_thread() -> threading.Thread | None:
    """Takes the calling thread's entry out of ``threading._active``."""
    with threading._active_limbo_lock:  # type: ignore[attr-defined]
        thread: threading.Thread | None = threading._active.pop(threading.get_ident(), None)  # type: ignore[attr-defined]
        return thread


_HOOKS_PRESENT = hasattr(threading, "_trace_hook") and hasattr(threading, "_profile_hook")
if not _HOOKS_PRESENT:
    missing(
        "threading._trace_hook or _profile_hook", "threading.settrace and setprofile hooks skip stealpool's workers"
    )


def thread_hooks() -> tuple[Any, Any]:
    """The trace and profile hooks ``threading`` gives every new thread."""
    if not _HOOKS_PRESENT:
        return None, None
    return threading._trace_hook, threading._profile_hook  # type: ignore[attr-defined]


def register_before_threads_join(function: Callable[[], None]) -> None:
    """Runs ``function`` at exit before ``threading`` joins its threads, as
    ``concurrent.futures.thread`` does; else at ``atexit``, after that join."""
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        missing("threading._register_atexit", "pools shut down at atexit, after threading joins its threads")
        register = atexit.register
    register(function)


def reinit_at_fork(lock: Any) -> None:
    """Makes ``lock`` fresh (released) in a forked child, where locks can be."""
    reinit = getattr(lock, "_at_fork_reinit", None)
    if reinit is not None:
        reinit()


if not hasattr(threading.Lock(), "_at_fork_reinit"):
    missing("lock._at_fork_reinit", "module locks are not made fresh in a forked child")

if not hasattr(asyncio.futures, "_convert_future_exc"):
    # src/python/names.rs looks it up too, and sets errors as they are without it.
    missing(
        "asyncio.futures._convert_future_exc",
        "concurrent.futures errors of tasks reach asyncio futures unconverted",
    )

# run_in_executor's own checks on asyncio's loops (uvloop's public ones elsewhere).
LOOP_CHECKS = all(hasattr(asyncio.BaseEventLoop, name) for name in ("_check_closed", "_check_callback"))
if not LOOP_CHECKS:
    missing(
        "BaseEventLoop._check_closed or _check_callback",
        "run_in_executor on stealpool checks loops as it does uvloop's",
    )
