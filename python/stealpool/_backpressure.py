"""``max_queued``: submitters wait for room instead of growing the queue.

A task holds one of ``max_queued`` places from its submission until it
starts, its future is cancelled, or the pool drops it unstarted (broken, or
shut down with ``cancel_futures``), whichever comes first, exactly once:
``_core.PlacedCall`` wraps the call to do that, on ``_core.Places``, an
atomic counter, so a pool with room pays one update per task. Only a
submitter that finds the pool full waits: a thread in ``Places``, without
the GIL; a coroutine (``pool.run``, ``run_in_executor``) never blocks its
loop: it queues a ``RoomRequest`` here, and requests are served first come
first served. A freed place goes to whichever waiter takes it first.
Submissions from a worker of the same pool are let through without a
place, so a task that submits to a full pool never deadlocks.
"""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
import weakref
from typing import Callable

from . import _core


class QueueFull(queue.Full):
    """``submit_nowait`` (or ``submit_within`` after its timeout) found
    ``max_queued`` tasks queued and not started."""


class Room:
    """The places of a pool with ``max_queued``: the counting is
    ``_core.Places`` (an atomic counter); waiting for room is here."""

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self.requests: collections.deque[RoomRequest] = collections.deque()
        # Re-entrant: a request refused on a closed loop gives its place back.
        self.lock = threading.RLock()
        # Weak: the room owns its places, which call it back.
        self.places = _core.Places(max_queued, weakref.WeakMethod(self.freed))

    @property
    def waiting_submitters(self) -> int:
        return self.places.waiting

    def wait_and_take(self, timeout: float | None, is_open: Callable[[], bool]) -> bool:
        """Waits up to ``timeout`` seconds (``None``: for ever) for a place;
        ``QueueFull`` if none came. False: the pool closed meanwhile and no
        place was taken (its submit then refuses, in the stdlib's words)."""
        if not is_open():
            return False
        if self.places.wait_to_take(timeout):
            return True
        if not is_open():
            return False
        raise QueueFull(f"{self.places.queued} tasks are queued and not started (max_queued)")

    def request(self, request: RoomRequest) -> bool:
        """True: a place was free and is now the request's; else it waits in line."""
        with self.lock:
            self.places.coroutine_waits()
            if not self.requests and self.places.try_take():
                self.places.coroutine_done_waiting()
                return True
            self.requests.append(request)
            return False

    def withdraw(self, request: RoomRequest) -> None:
        with self.lock:
            try:
                self.requests.remove(request)
            except ValueError:
                return  # already granted or refused
            self.places.coroutine_done_waiting()

    def freed(self) -> None:
        """A place came free while coroutines wait: the oldest gets it."""
        with self.lock:
            while self.requests and self.places.try_take():
                request = self.requests.popleft()
                self.places.coroutine_done_waiting()
                request.grant()

    def wake_everyone(self) -> None:
        with self.lock:
            requests, self.requests = self.requests, collections.deque()
            for _ in requests:
                self.places.coroutine_done_waiting()
        self.places.close()
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
            self.room.places.give_back()

    def granted(self) -> None:
        if self.future.done():  # cancelled meanwhile: leave no trace
            self.room.places.give_back()
            return
        try:
            inner = self.start()
        except BaseException as error:
            self.room.places.give_back()
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
