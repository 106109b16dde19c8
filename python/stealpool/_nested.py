"""Waits from a worker on its own pool's futures, without starving the pool.

On the stdlib's pool a task that waits on a future whose task is still
queued can wait forever: the worker that would run it may be the one
waiting (the ``concurrent.futures`` documentation's own ``wait_on_future``
example, or any recursive divide and conquer). stealpool takes the awaited
task back instead, as Java's ``ForkJoinTask.join`` and rayon's ``join`` do:

- A task submitted *from a worker of the same pool* carries an
  ``InlineCall``: the call, which either the queued job or one waiter runs,
  whichever claims the future first (PENDING -> RUNNING under the future's
  own lock; the queued job then finds the future claimed and skips it, as it
  skips a cancelled one).
- When such a worker waits on that future (``result()``, ``exception()``,
  ``concurrent.futures.wait``, ``as_completed``, ``map`` iteration) and the
  task has not started, it runs that task itself, inline, on its own thread,
  then waits as usual. Only awaited tasks run inline, never unrelated ones.
- A task already running elsewhere is simply waited for: it makes progress
  on its own thread. A true cycle (A waits on B while B waits on A) still
  cannot finish.
- Only waits without a timeout run tasks inline. A task, once started on
  the waiter's thread, cannot be interrupted, so a timed wait that ran one
  could overrun its timeout by the task's whole run (forever, for a task
  that waits for something the waiter does after giving up). A timed wait
  therefore waits as the stdlib's does: it gives up on time, and the task
  runs later on a worker; on a pool whose every worker waits, that means it
  times out, as on the stdlib.
- A wait that any one of several futures can end (``FIRST_COMPLETED``,
  ``FIRST_EXCEPTION``, ``as_completed``) runs a task inline only when
  nothing else can end it: every awaited future not done is a task this
  thread could claim, and the pool has no free worker to start one. Running
  one commits the thread to it, however long it takes, while the wait might
  have been ended at once by a task that another thread runs or could pick
  up. When nobody else can, the waiter runs one and looks again (and looks
  again now and then while it waits, in case the free worker it counted on
  took other work that never ends). Futures from outside the pool's own
  workers or from elsewhere count as ones that something else can finish
  (those that are not this library's futures are not seen at all: a wait
  mixing them with queued tasks of its own may still commit to one).
  ``ALL_COMPLETED``, ``result()`` and ``exception()`` need every awaited
  task anyway, so they run each in turn.
- A future cancelled while queued is "done" for ``wait`` and
  ``as_completed`` only once its job is dequeued (the stdlib's
  ``set_running_or_notify_cancel``), which never happens while the only
  worker that could dequeue it waits, nor ever once
  ``shutdown(cancel_futures=True)`` took it out of the queue. A waiter that
  could have claimed the task does that notification itself, in the
  dequeue's place, timed or not (it runs nothing, so it cannot overrun),
  when it starts waiting, after running tasks inline for ``ALL_COMPLETED``
  and, in a wait that any one future can end, each time it looks again.

Outside a worker of the pool nothing changes.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Protocol

from ._internals import CANCELLED_AND_NOTIFIED, FINISHED, PENDING, is_all_completed_waiter, is_waiter
from ._pool_state import PoolState, current_worker


class AwaitedFuture(Protocol):
    """What a wait needs of the futures it waits on: ``_future.Future``,
    whose methods claim, run or notify a task for the waiter."""

    _state: str

    def _claimable_here(self) -> bool: ...
    def _run_inline(self) -> None: ...
    def _notify_cancel_for_waiter(self) -> None: ...


class InlineCall:
    """``fn(*args, **kwargs)`` of a task submitted from a worker: run once,
    by the queued job or by a waiter on that pool; either way it forgets
    the call when it starts, so the future keeps nothing of it alive."""

    __slots__ = ("pool_ref", "call")

    def __init__(
        self,
        pool_ref: weakref.ref[PoolState],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.pool_ref = pool_ref
        self.call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = (fn, args, kwargs)

    def __call__(self) -> Any:
        call = self.call
        self.call = None
        assert call is not None, "a claimed call runs once"
        fn, args, kwargs = call
        return fn(*args, **kwargs)


def inline_call_for(
    pool: PoolState, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> InlineCall | None:
    """The claimable call for a submission to ``pool`` from one of its own
    workers; ``None`` anywhere else (such a task is never run inline)."""
    pool_ref = current_worker.pool_ref
    # By state: a loop's view of the shared pool (LoopExecutor) shares its state.
    if pool_ref is None or pool_ref() is not pool:
        return None
    return InlineCall(pool_ref, fn, args, kwargs)


def pool_has_free_worker() -> bool:
    """Whether the calling worker's pool has a worker waiting for work (or
    just back from that wait with a task it has yet to begin, which may be
    one the waiter waits on)."""
    pool_ref = current_worker.pool_ref
    pool = None if pool_ref is None else pool_ref()
    return pool is not None and pool.core.free_workers > 0


# How often a wait that left its tasks to others looks again whether it must
# run one itself: the free worker it counted on may have taken other work
# that never ends (one waiting on the waiter's own future, say). A liveness
# backstop, not a schedule: the wait ends as soon as a future does.
LOOK_AGAIN_AFTER = 0.05


class HelpingEvent(threading.Event):
    """The event of a ``wait``/``as_completed`` waiter made on a worker:
    before blocking, it runs the awaited tasks that have not started, under
    the rules in this module's docstring."""

    def __init__(self, ends_on_any: bool) -> None:
        super().__init__()
        self.futures: list[AwaitedFuture] = []
        # FIRST_COMPLETED, FIRST_EXCEPTION, as_completed: one future may end the wait.
        self.ends_on_any = ends_on_any

    def wait(self, timeout: float | None = None) -> bool:
        self._notify_cancelled()
        if timeout is None and self.ends_on_any:
            self._run_inline_while_nothing_else_can_end_the_wait()
        elif timeout is None:
            for future in self.futures:
                if self.is_set():
                    break
                future._run_inline()
            # A task run inline may have cancelled one not reached yet
            # (shutdown(cancel_futures=True)); it could not be claimed then.
            self._notify_cancelled()
        return super().wait(timeout)

    def _notify_cancelled(self) -> None:
        for future in self.futures:
            if future._claimable_here():
                future._notify_cancel_for_waiter()

    def _run_inline_while_nothing_else_can_end_the_wait(self) -> None:
        while not self.is_set():
            future = self._only_this_thread_can_finish()
            if future is not None:
                future._run_inline()
            elif super().wait(LOOK_AGAIN_AFTER):
                return
            else:
                # shutdown(cancel_futures=True) may have cancelled queued
                # ones meanwhile: taken out of the queue, no dequeue notifies them.
                self._notify_cancelled()

    def _only_this_thread_can_finish(self) -> AwaitedFuture | None:
        """An awaited task to run inline, if no awaited future can finish
        without this thread; else ``None``."""
        first = None
        for future in self.futures:
            state = future._state
            if state in (FINISHED, CANCELLED_AND_NOTIFIED):
                continue
            # Running elsewhere, queued from outside, or another pool's: not ours to take.
            if state != PENDING or not future._claimable_here():
                return None
            if first is None:
                first = future
        if first is None or pool_has_free_worker():
            return None
        return first


class WaiterList(list):  # type: ignore[type-arg]
    """A future's ``_waiters``. ``wait`` and ``as_completed`` install their
    waiter here (with every future's lock held, before anyone can set its
    event); on a worker, its event becomes a ``HelpingEvent``. It refers to
    its future weakly: a cycle would leave every waited future to the
    garbage collector."""

    __slots__ = ("future_ref",)
    future_ref: weakref.ref[AwaitedFuture]

    @classmethod
    def of(cls, future: AwaitedFuture) -> WaiterList:
        waiters = cls()
        waiters.future_ref = weakref.ref(future)
        return waiters

    def append(self, waiter: Any) -> None:
        super().append(waiter)
        if current_worker.pool_ref is None or not is_waiter(waiter):
            return
        event = waiter.event
        if not isinstance(event, HelpingEvent):
            event = waiter.event = HelpingEvent(ends_on_any=not is_all_completed_waiter(waiter))
        future = self.future_ref()
        if future is not None:
            event.futures.append(future)
