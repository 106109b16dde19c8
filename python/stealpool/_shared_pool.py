"""The process-wide pool behind ``install()``, and each loop's view of it.

Every loop that calls ``install()`` without pool arguments gets its own thin
``LoopExecutor`` view of one shared pool. A view's ``shutdown(wait=True)``
(called by ``asyncio.run`` from a helper thread, then by ``loop.close()``)
waits only for that loop's work and refuses only that loop's new work, so
the first loop to close never stops a pool other loops still use.

The stdlib's ``shutdown_default_executor`` joins the default executor's
threads, so no executor thread outlives ``asyncio.run``. Here the open views
are counted: the last one to shut down detaches the pool (the next view gets
a fresh one) and shuts it down, joining its workers when asked to wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from typing import Any, Callable, TypeVar

from . import _core, _lifecycle
from ._executor import ThreadPoolExecutor
from ._pool_state import PoolState

T = TypeVar("T")

_shared_pool: ThreadPoolExecutor | None = None
_open_views = 0  # views of _shared_pool not shut down yet
# Reentrant: a view dropped in a cycle is released by the garbage collector,
# which may run inside any allocation, this lock's holder included. Made
# fresh in a forked child before anything there can take it.
_shared_pool_lock = _lifecycle.lock_reset_in_child(threading.RLock())


def shared_pool() -> ThreadPoolExecutor:
    """The process-wide pool behind every ``install()`` without pool arguments.

    Once the last loop using it has shut its view down, this pool is shut
    down too, and the next call (or ``install()``) makes a new one.
    """
    with _shared_pool_lock:
        return _current_pool()


def _current_pool() -> ThreadPoolExecutor:
    # The caller holds _shared_pool_lock.
    global _shared_pool
    if _shared_pool is None:
        # Named like the stdlib's default executor threads.
        _shared_pool = ThreadPoolExecutor(thread_name_prefix="asyncio")
    return _shared_pool


class _Claim:
    """One view's hold on the shared pool, released once: by the view's
    shutdown, or when the view is dropped without one (a loop given another
    default executor), as a dropped stdlib executor lets its threads go."""

    def __init__(self) -> None:
        global _open_views
        with _shared_pool_lock:
            # Counted first: a release run by the collector while the pool is
            # being made must not see the count reach zero.
            _open_views += 1
            self.pool = _current_pool()
        self.released = False
        # The pool to shut down, once this was the last hold on it.
        self.retiring: ThreadPoolExecutor | None = None

    def release(self) -> None:
        global _shared_pool, _open_views
        with _shared_pool_lock:
            if self.released:
                return
            self.released = True
            _open_views -= 1
            if _open_views == 0:
                _shared_pool = None
                self.retiring = self.pool


def _release_dropped(claim: _Claim) -> None:
    claim.release()
    if claim.retiring is not None:
        claim.retiring.shutdown(wait=False)


class LoopExecutor(ThreadPoolExecutor):
    """One loop's view of the shared pool: its own shutdown, the shared workers."""

    _tracker: _core.Tracker  # always set: this view's work in flight
    # Its submit only adds the view's own check, which _run_for_loop makes too.
    _submit_is_stealpools = True

    def __init__(self) -> None:
        self._claim = _Claim()
        weakref.finalize(self, _release_dropped, self._claim).atexit = False
        pool = self._claim.pool
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
    def _pool_state(self) -> PoolState:  # type: ignore[override]
        return self._pool._pool_state

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
        """Refuses this loop's new work; with ``wait``, waits for its work in
        flight (not for the caller, when a task of this loop calls it).

        The last view to shut down shuts the shared pool down as well, and
        with ``wait`` joins its workers. ``cancel_futures`` is accepted for
        compatibility; queued work of a shared pool is not cancelled, since
        it may belong to other loops.
        """
        self._closed = True
        self._claim.release()
        if wait:
            self._tracker.wait()
        retiring = self._claim.retiring
        if retiring is not None:
            # With wait, returns once every worker but the caller has ended.
            retiring.shutdown(wait=wait)

    @property
    def _shutdown(self) -> bool:  # type: ignore[override]
        return self._closed

    def _reset_after_fork(self) -> None:
        # The parent's work in flight never finishes here: forget it.
        self._tracker = _core.Tracker()
