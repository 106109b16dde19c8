"""``stealpool.ThreadPoolExecutor``: the stdlib's class, run on the Rust pool."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import math
import os
import sys
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, Callable, TypeVar

from . import _core, _lifecycle
from ._backpressure import Room, RoomRequest
from ._future import Future
from ._internals import FUTURE_INTERNALS, next_pool_number
from ._map import buffered_map, check_buffersize
from ._nested import inline_call_for
from ._pool_state import PoolState, current_worker
from ._worker_threads import on_worker_exit, on_worker_start, run_initializer

T = TypeVar("T")


def default_max_workers() -> int:
    """The stdlib's default on the running Python."""
    cpu_count = getattr(os, "process_cpu_count", os.cpu_count)
    return min(32, (cpu_count() or 1) + 4)


def thread_bound(max_workers: Any) -> int:
    """How many threads the stdlib's pool starts for ``max_workers``.

    It starts another while ``len(threads) < max_workers``, so any number it
    accepts bounds the count at its ceiling: 2.0 and 1.5 allow 2, 2**70 and
    infinity more than can ever start. NaN allows none (the stdlib accepts
    it and never runs anything; the constructor then refuses it as 0).
    """
    try:
        bound: int = math.ceil(max_workers)
    except OverflowError:
        return sys.maxsize
    except ValueError:
        return 0
    return max(0, min(bound, sys.maxsize))


def check_pool_arguments(max_workers: Any, initializer: Any, idle_timeout: Any, max_queued: Any) -> None:
    """The constructor's checks, in its order, with the stdlib's errors
    where the stdlib has the argument; install() makes them too when it
    keeps a loop's executor, so bad arguments fail alike either way."""
    if max_workers is not None and (max_workers <= 0 or thread_bound(max_workers) == 0):
        # The second test is NaN's, which the stdlib accepts and then never
        # runs anything on: refused as the 0 it counts as.
        raise ValueError("max_workers must be greater than 0")
    if initializer is not None and not callable(initializer):
        raise TypeError("initializer must be a callable")
    if idle_timeout is not None and not idle_timeout >= 0:
        raise ValueError("idle_timeout must be None or a non-negative number of seconds")
    if max_queued is not None and (not isinstance(max_queued, int) or isinstance(max_queued, bool)):
        raise TypeError("max_queued must be None or an integer")
    if max_queued is not None and max_queued < 1:
        raise ValueError("max_queued must be None or greater than 0")


def submit_is_overridden(executor: ThreadPoolExecutor) -> bool:
    """Whether ``executor``'s class replaced stealpool's ``submit``: then
    every call, ``run_in_executor``'s and anyio's included, must go through
    it, as the loop's own path would, not straight to the pool."""
    return executor._submit_overridden


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A drop-in ``concurrent.futures.ThreadPoolExecutor`` on a Rust work-stealing pool.

    Arguments, defaults, errors and messages are the stdlib's. In addition:
    ``idle_timeout`` (seconds, ``None`` for never) retires idle workers,
    ``max_queued`` makes ``submit`` wait for room (see ``_backpressure.py``;
    ``submit_nowait`` and ``submit_within`` raise ``QueueFull`` instead),
    ``run()`` awaits a call from a coroutine without a
    ``concurrent.futures.Future`` in between, and ``stats()`` reports the pool.
    """

    # Always set: the stdlib's default when none is given. Any object, as
    # in the stdlib, which names threads f"{prefix}_{n}" (5_0, b'x'_0).
    _thread_name_prefix: str
    # Here, as opposed to a subclass's own: run_in_executor may skip it.
    _submit_is_stealpools = True
    # Decided once per class (every run_in_executor asks): whether the
    # nearest class that defines submit is not one of stealpool's.
    _submit_overridden = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "submit" in vars(cls):
            cls._submit_overridden = not vars(cls).get("_submit_is_stealpools", False)

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        idle_timeout: float | None = 10.0,
        max_queued: int | None = None,
    ) -> None:
        """Make a pool; nothing starts until the first ``submit``.

        ``max_workers``: at most this many threads (default: the stdlib's,
        ``min(32, cpu_count + 4)``). ``thread_name_prefix``: worker thread
        names are ``prefix_N`` (default ``ThreadPoolExecutor-M``).
        ``initializer(*initargs)`` runs once in each new worker; if it raises,
        the pool is broken, as in the stdlib. ``idle_timeout``: seconds a
        worker may stay idle before it exits (default 10.0; ``None`` keeps
        workers forever, as the stdlib does). ``max_queued``: at most this
        many tasks queued and not started; ``submit`` waits for room (default
        ``None``: unbounded, as the stdlib).
        """
        check_pool_arguments(max_workers, initializer, idle_timeout, max_queued)
        if max_workers is None:
            max_workers = default_max_workers()
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix or f"ThreadPoolExecutor-{next_pool_number()}"
        # typeshed types the stdlib's attribute as returning None, its parameter as returning anything.
        self._initializer = initializer  # type: ignore[assignment]
        self._initargs = initargs
        self._idle_timeout = idle_timeout
        self._tracker: _core.Tracker | None = None
        if max_queued is not None:
            self._room = Room(max_queued)
        self._pool_state = PoolState()
        self._core = self._new_core()
        _lifecycle.track(self)

    def _new_core(self) -> _core.Core:
        """A fresh pool, which the pool's state (its workers') refers to from now on."""
        pool_ref = weakref.ref(self._pool_state)
        initialize = None
        if self._initializer is not None:
            initialize = functools.partial(run_initializer, self._initializer, self._initargs)
        core = _core.Core(
            max_workers=thread_bound(self._max_workers),
            thread_name_prefix=str(self._thread_name_prefix),
            idle_timeout=self._idle_timeout,
            on_worker_start=functools.partial(on_worker_start, pool_ref),
            initialize=initialize,
            on_worker_exit=functools.partial(on_worker_exit, pool_ref),
            future_class=Future if FUTURE_INTERNALS else concurrent.futures.Future,
            stack_size=threading.stack_size(),
        )
        self._pool_state.core = core
        return core

    _room: Room | None = None  # with max_queued only

    @property
    def _max_workers(self) -> Any:
        """As given, like the stdlib's attribute; assigning it changes the
        bound for threads started from then on, as it does there."""
        return self._max_workers_given

    @_max_workers.setter
    def _max_workers(self, max_workers: Any) -> None:
        self._max_workers_given = max_workers
        # Not a view's: LoopExecutor's _core is the shared pool's, not its own.
        core = self.__dict__.get("_core")
        if core is not None:
            core.max_workers = thread_bound(max_workers)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        if self._room is None and current_worker.pool_ref is None:
            # The common case, kept to one call: no bound, outside any worker.
            return self._core.submit(fn, args, kwargs or None, self._tracker)
        return self._submit(None, fn, args, kwargs)

    submit.__doc__ = concurrent.futures.ThreadPoolExecutor.submit.__doc__

    def submit_nowait(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        """``submit``, raising ``stealpool.QueueFull`` instead of waiting for room."""
        return self._submit(0.0, fn, args, kwargs)

    def submit_within(
        self, timeout: float, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        """``submit``, raising ``stealpool.QueueFull`` if no room came within ``timeout`` seconds."""
        if not timeout >= 0:
            raise ValueError("timeout must be a non-negative number of seconds")
        return self._submit(timeout, fn, args, kwargs)

    def _submit(
        self, timeout: float | None, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[T]:
        inline = inline_call_for(self._pool_state, fn, args, kwargs)
        if inline is not None:
            # From one of this pool's workers: let through even when full
            # (waiting there could deadlock), and a waiter there may run it itself.
            future = self._core.submit(inline, (), None, self._tracker)
            future._stealpool_inline = inline  # type: ignore[attr-defined]  # the core's futures are _future.Future
            return future
        room = self._room
        if room is None:
            return self._core.submit(fn, args, kwargs or None, self._tracker)
        return self._submit_placed(room, timeout, fn, args, kwargs)

    def _submit_placed(
        self, room: Room, timeout: float | None, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> concurrent.futures.Future[T]:
        """``submit`` under ``max_queued``, from outside this pool's workers."""
        call = (fn, args, kwargs or None)
        placed = room.places.take(*call)
        if placed is None:
            placed = room.wait_and_take(timeout, self._is_open, call)
        if placed is None:  # the pool closed meanwhile
            raise self._core.refusal()
        try:
            future = self._core.submit(placed, (), None, self._tracker)
        except BaseException:
            placed.leave()
            raise
        # Weak: a job the pool drops unstarted (broken pool) must drop its call, and so its place.
        future._stealpool_placed = weakref.ref(placed)  # type: ignore[attr-defined]  # the core's futures are _future.Future
        return future

    def _is_open(self) -> bool:
        return self._core.accepting

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
        buffersize: int | None = None,
    ) -> Iterator[T]:
        """The stdlib's ``map``, with ``buffersize`` (the stdlib's from 3.14,
        the same algorithm and errors before): at most ``buffersize`` calls
        are submitted and not yet yielded."""
        check_buffersize(buffersize)
        if buffersize is None:
            return super().map(fn, *iterables, timeout=timeout, chunksize=chunksize)
        return buffered_map(self, fn, iterables, timeout, buffersize)

    def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        """Awaitable ``fn(*args, **kwargs)`` on the pool, from a coroutine.

        Like ``asyncio.to_thread``, the call runs in a copy of the caller's
        context. Cancelling the awaiting task before the call starts means it
        never runs; cancelling later discards its outcome.
        """
        loop = asyncio.get_running_loop()
        if self._room is None:
            return self._core.run(loop, fn, args, kwargs or None, self._tracker)
        # Copied now, at the call, not when a place comes.
        context = contextvars.copy_context()
        return self._run_placed(loop, context.run, (fn, *args), kwargs)

    def _run_for_loop(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], args: tuple[Any, ...]
    ) -> asyncio.Future[T]:
        """``loop.run_in_executor(self, fn, *args)`` through the loop's bridge."""
        if self._room is None:
            return self._core.run(loop, fn, args, None, self._tracker, copy_context=False)
        return self._run_placed(loop, fn, args, {})

    def _run_placed(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> asyncio.Future[T]:
        """``run`` under ``max_queued``: at once if there is room, else once
        a place is granted, without blocking the loop."""
        room = self._room
        assert room is not None

        def start(placed: _core.PlacedCall) -> asyncio.Future[T]:
            future = self._core.run(loop, placed, (), None, self._tracker, copy_context=False)
            # A call cancelled before it starts gives its place back here.
            future.add_done_callback(placed.leave)
            return future

        if not self._is_open():
            raise self._core.refusal()
        waiting = loop.create_future()
        request = RoomRequest(room, loop, waiting, (fn, args, kwargs or None), start)
        placed = room.request(request)
        if placed is not None:
            request.granted(placed)
        else:
            waiting.add_done_callback(lambda _: room.withdraw(request))
        return waiting

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        room = self._room
        if room is None:
            return self._core.shutdown(wait=wait, cancel_futures=cancel_futures)
        # Submitters waiting for room wake to the stdlib's shutdown error first.
        self._core.shutdown(wait=False, cancel_futures=cancel_futures)
        room.wake_everyone()
        if wait:
            self._core.shutdown(wait=True)

    shutdown.__doc__ = concurrent.futures.ThreadPoolExecutor.shutdown.__doc__

    def stats(self) -> dict[str, int]:
        """A snapshot: workers, idle, queued, running, completed, stolen,
        spawned, retired, panicked, bridged (asyncio completions), and
        ran_inline (tasks a waiting worker ran itself, see ``_nested.py``;
        their queued jobs still count as completed), and waiting_submitters
        (threads and coroutines waiting for room under ``max_queued``)."""
        stats = self._core.stats()
        stats["ran_inline"] = self._pool_state.ran_inline
        stats["waiting_submitters"] = 0 if self._room is None else self._room.waiting_submitters
        return stats

    @property
    def _threads(self) -> set[threading.Thread]:  # type: ignore[override]
        """The live workers, as ``threading.Thread``-like objects."""
        return set(self._pool_state.worker_threads)

    @property
    def _broken(self) -> str | bool:  # type: ignore[override]
        return self._core.broken or False

    @property
    def _shutdown(self) -> bool:  # type: ignore[override]
        return self._core.is_shut_down

    def _reset_after_fork(self) -> None:
        old = self._core
        self._pool_state.worker_threads = set()
        self._core = self._new_core()
        if self._room is not None:
            # The child has none of the parent's queued tasks or waiters.
            self._room = Room(self._room.max_queued)
        if old.broken:
            self._core.break_pool(old.broken)
        if old.is_shut_down:
            self._core.shutdown(wait=False)
