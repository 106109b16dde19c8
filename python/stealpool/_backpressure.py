"""``max_queued``: submitters wait for room instead of growing the queue.

A task holds one of ``max_queued`` places from its submission until it
starts, or until its future is done without it ever starting (cancelled,
the pool broken or shut down with ``cancel_futures``), whichever comes
first, exactly once. Threads wait on a ``threading.Condition``, whose
waits release the GIL. Coroutines (``pool.run``, ``run_in_executor``)
never block their loop: each queues a ``RoomRequest``, served first come
first served, and a freed place goes to the oldest request before any
waiting thread. Submissions from a worker of the same pool are let through
without a place, so a task that submits to a full pool never deadlocks.
"""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
import time
from typing import Any, Callable


class QueueFull(queue.Full):
    """``submit_nowait`` (or ``submit_within`` after its timeout) found
    ``max_queued`` tasks queued and not started."""


class Room:
    """The places of a pool with ``max_queued``."""

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self.queued = 0
        self.waiting = 0
        self.requests: collections.deque[RoomRequest] = collections.deque()
        # Re-entrant: a request refused on a closed loop gives its place back.
        self.condition = threading.Condition(threading.RLock())

    @property
    def waiting_submitters(self) -> int:
        return self.waiting + len(self.requests)

    def take(self, timeout: float | None, is_open: Callable[[], bool]) -> bool:
        """Waits up to ``timeout`` seconds (``None``: for ever) for a place;
        ``QueueFull`` if none came. False: the pool closed meanwhile and no
        place was taken (its submit then refuses, in the stdlib's words)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.condition:
            self.waiting += 1
            try:
                while self.queued >= self.max_queued and is_open():
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise QueueFull(f"{self.queued} tasks are queued and not started (max_queued)")
                    self.condition.wait(left)
            finally:
                self.waiting -= 1
            if not is_open():
                return False
            self.queued += 1
            return True

    def request(self, request: RoomRequest) -> bool:
        """True: a place was free and is now the request's; else it waits in line."""
        with self.condition:
            if self.queued < self.max_queued and not self.requests:
                self.queued += 1
                return True
            self.requests.append(request)
            return False

    def withdraw(self, request: RoomRequest) -> None:
        with self.condition:
            try:
                self.requests.remove(request)
            except ValueError:
                pass  # already granted or refused

    def give_back(self) -> None:
        with self.condition:
            if self.requests:
                # The place passes to the oldest coroutine, still taken.
                self.requests.popleft().grant()
                return
            self.queued -= 1
            self.condition.notify()

    def wake_everyone(self) -> None:
        with self.condition:
            requests, self.requests = self.requests, collections.deque()
            self.condition.notify_all()
        for request in requests:
            request.refuse()


class RoomRequest:
    """A coroutine's wait for a place: ``future`` is what it awaits, and
    ``start()`` submits the call once a place is granted, on the loop."""

    def __init__(
        self,
        room: Room,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future,  # type: ignore[type-arg]
        start: Callable[[], asyncio.Future],  # type: ignore[type-arg]
    ) -> None:
        self.room = room
        self.loop = loop
        self.future = future
        self.start = start

    def grant(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.granted)
        except RuntimeError:  # the loop closed: nobody awaits the call any more
            self.room.give_back()

    def granted(self) -> None:
        if self.future.done():  # cancelled meanwhile: leave no trace
            self.room.give_back()
            return
        try:
            inner = self.start()
        except BaseException as error:
            self.room.give_back()
            self.future.set_exception(error)
            return
        relay(inner, self.future)

    def refuse(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.refused)
        except RuntimeError:
            pass  # the loop closed: nobody awaits the call any more

    def refused(self) -> None:
        if not self.future.done():
            self.future.set_exception(RuntimeError("cannot schedule new futures after shutdown"))


def relay(inner: asyncio.Future, outer: asyncio.Future) -> None:  # type: ignore[type-arg]
    """``outer`` follows ``inner``; cancelling ``outer`` cancels ``inner``."""

    def copy_outcome(inner: asyncio.Future) -> None:  # type: ignore[type-arg]
        if outer.done():
            return
        if inner.cancelled():
            outer.cancel()
        elif inner.exception() is not None:
            outer.set_exception(inner.exception())  # type: ignore[arg-type]
        else:
            outer.set_result(inner.result())

    def cancel_inner(outer: asyncio.Future) -> None:  # type: ignore[type-arg]
        if outer.cancelled():
            inner.cancel()

    inner.add_done_callback(copy_outcome)
    outer.add_done_callback(cancel_inner)


class Placed:
    """A queued call holding a place: gives it back once, when the call
    starts or when its future is done without it."""

    __slots__ = ("room", "call")

    def __init__(self, room: Room, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.room: Room | None = room
        self.call = (fn, args, kwargs)

    def leave(self, _future: Any = None) -> None:
        room, self.room = self.room, None
        if room is not None:
            room.give_back()

    def __call__(self) -> Any:
        fn, args, kwargs = self.call
        del self.call
        self.leave()
        return fn(*args, **kwargs)
