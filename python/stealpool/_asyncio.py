"""stealpool as asyncio's default executor.

Design: one process-wide pool (made on first use, joined at exit) serves
every loop that calls ``install()`` without pool arguments. Each such loop
gets its own thin ``LoopExecutor`` view of that pool: the view's
``shutdown(wait=True)`` (called by ``asyncio.run`` from a helper thread, then
by ``loop.close()``) waits only for that loop's work and refuses only that
loop's new work, so the first loop to close never stops a pool other loops
still use. ``install(**pool_kwargs)`` instead gives the loop a pool of its
own, shut down with the loop.

asyncio's ``run_in_executor`` wraps a ``concurrent.futures.Future`` in an
asyncio one, with a lock, a condition, two callback chains and a self-pipe
write per call. ``install()`` replaces ``run_in_executor`` *on that loop
instance* (stock asyncio and uvloop alike) so calls for a stealpool executor
(``None`` included: ``asyncio.to_thread``, ``getaddrinfo``) are resolved
through the batched completion bridge instead; other executors take the
loop's own path.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, Callable, TypeVar

from . import _core, _lifecycle
from ._executor import ThreadPoolExecutor

T = TypeVar("T")

_shared_pool: ThreadPoolExecutor | None = None
_shared_pool_lock = threading.Lock()
if hasattr(os, "register_at_fork"):
    # A thread that held it at fork time does not exist in the child.
    os.register_at_fork(after_in_child=_shared_pool_lock._at_fork_reinit)  # type: ignore[attr-defined]


def shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool behind every ``install()`` without pool arguments."""
    global _shared_pool
    with _shared_pool_lock:
        if _shared_pool is None:
            # Named like the stdlib's default executor threads.
            _shared_pool = ThreadPoolExecutor(thread_name_prefix="asyncio")
        return _shared_pool


class LoopExecutor(ThreadPoolExecutor):
    """One loop's view of the shared pool: its own shutdown, the shared workers."""

    _tracker: _core.Tracker  # always set: this loop's work in flight

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        # The stdlib-compatible attributes mirror the shared pool's.
        self._pool = pool
        self._max_workers = pool._max_workers
        self._thread_name_prefix = pool._thread_name_prefix
        self._initializer = None
        self._initargs = ()
        self._idle_timeout = pool._idle_timeout
        self._tracker = _core.Tracker()
        self._closed = False
        _lifecycle.track(self)

    # Read-only views of the shared pool's attributes, which the base class assigns.
    @property
    def _core(self) -> _core.Core:  # type: ignore[override]
        return self._pool._core

    @property
    def _worker_threads(self) -> Any:  # type: ignore[override]
        return self._pool._worker_threads

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        self._check_open()
        return super().submit(fn, *args, **kwargs)

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        self._check_open()
        return super().run(fn, *args, **kwargs)

    def _run_for_loop(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], args: tuple[Any, ...]
    ) -> asyncio.Future[T]:
        self._check_open()
        return super()._run_for_loop(loop, fn, args)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("cannot schedule new futures after shutdown")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuses this loop's new work; with ``wait``, waits for its work in flight.

        The shared pool keeps serving other loops. ``cancel_futures`` is
        accepted for compatibility; queued work of a shared pool is not
        cancelled, since it may belong to other loops.
        """
        self._closed = True
        if wait:
            self._tracker.wait()

    @property
    def _shutdown(self) -> bool:  # type: ignore[override]
        return self._closed

    def _reset_after_fork(self) -> None:
        # The parent's work in flight never finishes here: forget it.
        self._tracker = _core.Tracker()


def install(loop: asyncio.AbstractEventLoop | None = None, **pool_kwargs: Any) -> ThreadPoolExecutor:
    """Make stealpool the default executor of ``loop`` (default: the running loop).

    Without ``pool_kwargs`` the loop shares the process-wide pool; with them
    (``max_workers=...``, ``idle_timeout=...``) it gets a pool of its own.
    Idempotent: a loop that already has a stealpool default executor keeps it.
    Returns the loop's executor.
    """
    if loop is None:
        loop = asyncio.get_running_loop()
    _serve_anyio()
    current = default_executor_of(loop)
    if isinstance(current, ThreadPoolExecutor):
        _route_run_in_executor(loop)
        return current
    executor = ThreadPoolExecutor(**pool_kwargs) if pool_kwargs else LoopExecutor(shared_pool())
    loop.set_default_executor(executor)
    # uvloop keeps its default executor where Python cannot read it.
    loop._stealpool_executor = executor  # type: ignore[attr-defined]
    if current is not None:
        current.shutdown(wait=False)
    _route_run_in_executor(loop)
    return executor


def _serve_anyio() -> None:
    # Lazy: _anyio imports this module, and does nothing until anyio is imported.
    from ._anyio import activate

    activate()


def default_executor_of(loop: asyncio.AbstractEventLoop) -> Any:
    """The loop's default executor: asyncio's attribute, else the one install() set."""
    try:
        return loop._default_executor  # type: ignore[attr-defined]
    except AttributeError:
        return getattr(loop, "_stealpool_executor", None)


def _route_run_in_executor(loop: asyncio.AbstractEventLoop) -> None:
    loop_run_in_executor = loop.run_in_executor
    if getattr(loop_run_in_executor, "_stealpool_route", False):
        return

    def run_in_executor(executor: Any, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        if executor is None:
            executor = default_executor_of(loop)
        if not isinstance(executor, ThreadPoolExecutor):
            return loop_run_in_executor(executor, func, *args)
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
        if loop.get_debug() and (asyncio.iscoroutine(func) or asyncio.iscoroutinefunction(func)):
            raise TypeError("coroutines cannot be used with run_in_executor()")
        return executor._run_for_loop(loop, func, args)

    run_in_executor._stealpool_route = True  # type: ignore[attr-defined]
    run_in_executor.__doc__ = loop_run_in_executor.__doc__
    # mypy compares a function assigned to an instance with the unbound method, self included.
    loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]


def loop_factory() -> asyncio.AbstractEventLoop:
    """A new event loop (of the current policy) with stealpool installed.

    For ``asyncio.run(main(), loop_factory=stealpool.loop_factory)`` (3.12+)
    and ``asyncio.Runner(loop_factory=stealpool.loop_factory)`` (3.11+).
    """
    loop = asyncio.new_event_loop()
    install(loop)
    return loop


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None, **pool_kwargs: Any) -> T:
    """``asyncio.run(main)`` with ``install(**pool_kwargs)`` done first."""
    if not asyncio.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")

    async def installed_then_main() -> T:
        install(**pool_kwargs)
        return await main

    return asyncio.run(installed_then_main(), debug=debug)


async def to_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``asyncio.to_thread`` that always runs on stealpool (the loop's
    stealpool executor if installed, else the process-wide pool)."""
    loop = asyncio.get_running_loop()
    executor = default_executor_of(loop)
    if not isinstance(executor, ThreadPoolExecutor):
        executor = shared_pool()
    return await executor.run(func, *args, **kwargs)


__all__ = ["LoopExecutor", "install", "loop_factory", "run", "shared_pool", "to_thread"]
