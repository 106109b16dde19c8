"""The ``concurrent.futures.Future`` that ``submit`` returns.

The stdlib's ``Future.__init__`` builds a ``threading.Condition`` (an RLock,
a deque and a handful of bound methods) and two lists for every future, and
that allocation, plus the garbage collection it triggers, costs more than
running a small task. Most futures of a pool are resolved before anybody
waits on them or adds a callback, so this subclass makes those objects on
first use instead, and its condition is ``_core.FutureCondition``, a
re-entrant condition variable made in one small allocation. Its behaviour is
the stdlib's: the methods reach the same attributes, which simply appear
when first touched. Only waits from a worker of the future's own pool
differ: ``result()``, ``exception()`` and the ``_waiters`` that ``wait`` and
``as_completed`` use may run a task that has not started on the waiting
thread (see ``_nested.py``).

While no condition exists nobody can be waiting or holding the future's
lock, so with the GIL held the worker resolves such a future by writing its
state directly (see ``src/python/fast_future.rs``); otherwise, and always on
free-threaded builds, it calls ``set_running_or_notify_cancel`` and
``set_result``/``set_exception`` like the stdlib's worker.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import weakref
from concurrent.futures import InvalidStateError
from typing import Any, Callable, Generic, TypeVar

from ._core import FutureCondition, PlacedCall
from ._internals import CANCELLED, PENDING, RUNNING
from ._nested import InlineCall, WaiterList
from ._pool_state import current_worker

T = TypeVar("T")


class MadeOnFirstUse(Generic[T]):
    """A per-instance attribute made by ``factory(instance)`` the first time it is read."""

    def __init__(self, factory: Callable[[Any], T]) -> None:
        self.factory = factory

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        # setdefault: when two threads race, both get the one that landed.
        return instance.__dict__.setdefault(self.name, self.factory(instance))


class Future(concurrent.futures.Future):  # type: ignore[type-arg]
    _state = PENDING
    _result = None
    _exception = None
    _condition = MadeOnFirstUse(lambda future: FutureCondition())
    _waiters: MadeOnFirstUse[list[Any]] = MadeOnFirstUse(WaiterList.of)
    _done_callbacks: MadeOnFirstUse[list[Any]] = MadeOnFirstUse(lambda future: [])
    # Set on tasks submitted from a worker of their own pool (see _nested.py).
    _stealpool_inline: InlineCall | None = None
    _claimed_by_waiter = False
    # Set on tasks holding a place under max_queued (see _backpressure.py).
    _stealpool_placed: weakref.ref[PlacedCall] | None = None

    def __init__(self) -> None:
        """Everything else is made on first use."""

    def result(self, timeout: float | None = None) -> Any:
        # Timed waits never run the task inline: it could overrun the timeout (see _nested.py).
        if timeout is None:
            self._run_inline()
        return super().result(timeout)

    result.__doc__ = concurrent.futures.Future.result.__doc__

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if timeout is None:
            self._run_inline()
        return super().exception(timeout)

    exception.__doc__ = concurrent.futures.Future.exception.__doc__

    def cancel(self) -> bool:
        placed_ref = self._stealpool_placed
        placed = None if placed_ref is None else placed_ref()
        if placed is not None and self._state == PENDING:
            # Room at once, not when a worker finds the job and drops it, and
            # before the done-callbacks that cancel() runs: one that submits
            # again finds the place free. Should a worker start the task
            # meanwhile, so that cancel() fails, the start gives the place
            # back anyway.
            placed.leave()
        return super().cancel()

    cancel.__doc__ = concurrent.futures.Future.cancel.__doc__

    def _claimable_here(self) -> bool:
        """Whether this task was submitted from a worker of the pool the
        calling thread is a worker of (and so may be claimed by this thread)."""
        inline = self._stealpool_inline
        return inline is not None and inline.pool_ref is current_worker.pool_ref

    def _run_inline(self) -> None:
        """Runs this task on the calling thread if the caller is a worker
        of the pool it was submitted to and the task has not started."""
        inline = self._stealpool_inline
        if inline is None or current_worker.pool_ref is not inline.pool_ref:
            return
        if not self._claim_for_waiter():
            return
        self._stealpool_inline = None
        pool = inline.pool_ref()
        if pool is not None:
            pool.count_inline_run()
        # As a queued task runs in a copy of its worker's context, this one runs
        # in a copy of the waiter's: nothing it sets leaks back.
        try:
            result = contextvars.copy_context().run(inline)
        except BaseException as exc:  # as the stdlib's worker: everything lands on the future
            resolve = functools.partial(self.set_exception, exc)
        else:
            resolve = functools.partial(self.set_result, result)
        try:
            resolve()
        except InvalidStateError:
            # The pool broke meanwhile and failed the still-queued job's future
            # with BrokenThreadPool, as it fails every queued task: that stands.
            pass

    def _claim_for_waiter(self) -> bool:
        """PENDING -> RUNNING for a waiter that will run the task itself."""
        with self._condition:
            if self._state != PENDING:
                return False
            self._state = RUNNING
            self._claimed_by_waiter = True
            return True

    def _notify_cancel_for_waiter(self) -> None:
        """CANCELLED -> CANCELLED_AND_NOTIFIED, by a waiter doing what the
        queued job's dequeue would (see _nested.py); the job then skips it."""
        with self._condition:
            if self._state != CANCELLED or self._claimed_by_waiter:
                return
            self._claimed_by_waiter = True
            super().set_running_or_notify_cancel()

    def set_running_or_notify_cancel(self) -> bool:
        with self._condition:
            # The queued job of a task a waiter claimed (to run it, or to
            # notify its cancellation) skips it, as a cancelled one.
            if self._claimed_by_waiter:
                return False
            return super().set_running_or_notify_cancel()

    set_running_or_notify_cancel.__doc__ = concurrent.futures.Future.set_running_or_notify_cancel.__doc__
