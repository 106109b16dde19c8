"""``stealpool.ThreadPoolExecutor``: the stdlib's class, run on the Rust pool."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
import weakref
from typing import Any, Callable, TypeVar

from . import _core, _lifecycle
from ._future import Future
from ._worker_threads import WorkerThread, on_worker_exit, on_worker_start, run_initializer

T = TypeVar("T")


def default_max_workers() -> int:
    """The stdlib's default on the running Python."""
    cpu_count = getattr(os, "process_cpu_count", os.cpu_count)
    return min(32, (cpu_count() or 1) + 4)


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A drop-in ``concurrent.futures.ThreadPoolExecutor`` on a Rust work-stealing pool.

    Arguments, defaults, errors and messages are the stdlib's. In addition:
    ``idle_timeout`` (seconds, ``None`` for never) retires idle workers,
    ``run()`` awaits a call from a coroutine without a
    ``concurrent.futures.Future`` in between, and ``stats()`` reports the pool.
    """

    _thread_name_prefix: str  # always set: the stdlib's default when none is given

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        idle_timeout: float | None = 10.0,
    ) -> None:
        """Make a pool; nothing starts until the first ``submit``.

        ``max_workers``: at most this many threads (default: the stdlib's,
        ``min(32, cpu_count + 4)``). ``thread_name_prefix``: worker thread
        names are ``prefix_N`` (default ``ThreadPoolExecutor-M``).
        ``initializer(*initargs)`` runs once in each new worker; if it raises,
        the pool is broken, as in the stdlib. ``idle_timeout``: seconds a
        worker may stay idle before it exits (default 10.0; ``None`` keeps
        workers forever, as the stdlib does).
        """
        if max_workers is None:
            max_workers = default_max_workers()
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if idle_timeout is not None and not idle_timeout >= 0:
            raise ValueError("idle_timeout must be None or a non-negative number of seconds")
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix or (
            f"ThreadPoolExecutor-{self._counter()}"  # type: ignore[attr-defined]
        )
        # typeshed types the stdlib's attribute as returning None, its parameter as returning anything.
        self._initializer = initializer  # type: ignore[assignment]
        self._initargs = initargs
        self._idle_timeout = idle_timeout
        self._tracker: _core.Tracker | None = None
        self._worker_threads: set[WorkerThread] = set()
        self._core = self._new_core()
        _lifecycle.track(self)

    def _new_core(self) -> _core.Core:
        this = weakref.ref(self)
        initialize = None
        if self._initializer is not None:
            initialize = functools.partial(run_initializer, self._initializer, self._initargs)
        return _core.Core(
            self._max_workers,
            self._thread_name_prefix,
            self._idle_timeout,
            functools.partial(on_worker_start, this),
            initialize,
            functools.partial(on_worker_exit, this),
            Future,
            threading.stack_size(),
        )

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        return self._core.submit(fn, args, kwargs or None, self._tracker)

    submit.__doc__ = concurrent.futures.ThreadPoolExecutor.submit.__doc__

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """Awaitable ``fn(*args, **kwargs)`` on the pool, from a coroutine.

        Like ``asyncio.to_thread``, the call runs in a copy of the caller's
        context. Cancelling the awaiting task before the call starts means it
        never runs; cancelling later discards its outcome.
        """
        loop = asyncio.get_running_loop()
        return self._core.run(loop, fn, args, kwargs or None, True, self._tracker)

    def _run_for_loop(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], args: tuple[Any, ...]
    ) -> asyncio.Future[T]:
        """``loop.run_in_executor(self, fn, *args)`` through the loop's bridge."""
        return self._core.run(loop, fn, args, None, False, self._tracker)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._core.shutdown(wait, cancel_futures)

    shutdown.__doc__ = concurrent.futures.ThreadPoolExecutor.shutdown.__doc__

    def stats(self) -> dict[str, int]:
        """A snapshot: workers, idle, queued, running, completed, stolen,
        spawned, retired, panicked, and bridged (asyncio completions)."""
        return self._core.stats()

    @property
    def _threads(self) -> set[WorkerThread]:  # type: ignore[override]
        """The live workers, as ``threading.Thread``-like objects."""
        return set(self._worker_threads)

    @property
    def _broken(self) -> str | bool:  # type: ignore[override]
        return self._core.broken or False

    @property
    def _shutdown(self) -> bool:  # type: ignore[override]
        return self._core.is_shut_down

    def _reset_after_fork(self) -> None:
        old = self._core
        self._worker_threads = set()
        self._core = self._new_core()
        if old.broken:
            self._core.break_pool(old.broken)
        if old.is_shut_down:
            self._core.shutdown(False)
