"""``max_queued``: submitters wait for room instead of growing the queue.

A task holds one of ``max_queued`` places from its submission until it
starts, its future is cancelled, or the pool drops it unstarted (broken, or
shut down with ``cancel_futures``), whichever comes first, exactly once:
``_core.PlacedCall`` wraps the call to do that, on ``_core.Places``, an
atomic counter, so a pool with room pays one update per task. A place is
only ever taken as a ``PlacedCall`` (``Places.take``), so no exception, not
even a Ctrl-C, can fall between taking a place and owning it. Only a
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
from typing import Any, Callable, Optional

from . import _core

# What a placed call runs: fn, args, kwargs (None for none).
Call = tuple[Callable[..., Any], tuple[Any, ...], Optional[dict[str, Any]]]


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
        # Set while freed() hands places out, on the thread holding the lock.
        self.handing_out = False
        # Weak: the room owns its places, which call it back.
        self.places = _core.Places(max_queued, weakref.WeakMethod(self.freed))

    @property
    def waiting_submitters(self) -> int:
        return self.places.waiting

    def wait_and_take(self, timeout: float | None, is_open: Callable[[], bool], call: Call) -> _core.PlacedCall | None:
        """``call`` holding a place, once one comes within ``timeout`` seconds
        (``None``: for ever); ``QueueFull`` if none came. None: the pool
        closed meanwhile and no place was taken (its submit then refuses, in
        the stdlib's words)."""
        if not is_open():
            return None
        placed = self.places.wait_to_take(timeout, *call)
        if placed is not None or not is_open():
            return placed
        raise QueueFull(f"{self.places.queued} tasks are queued and not started (max_queued)")

    def request(self, request: RoomRequest) -> _core.PlacedCall | None:
        """The request's call holding a place, if one was free; else it waits in line."""
        with self.lock:
            self.places.coroutine_waits()
            placed = None if self.requests else request.take()
            if placed is None:
                self.requests.append(request)
                return None
            self.places.coroutine_done_waiting()
            return placed

    def withdraw(self, request: RoomRequest) -> None:
        with self.lock:
            try:
                self.requests.remove(request)
            except ValueError:
                return  # already granted or refused
            self.places.coroutine_done_waiting()

    def freed(self) -> None:
        """A place came free while coroutines wait: the oldest gets it.

        A grant to a closed loop gives its place straight back, and that
        release calls this again on the same thread: the inner call returns
        at once and this loop hands the place to the next request, so a
        thousand requests of a closed loop are withdrawn one after another,
        not by a thousand nested calls."""
        with self.lock:
            if self.handing_out:
                return
            self.handing_out = True
            try:
                while self.requests:
                    placed = self.requests[0].take()
                    if placed is None:
                        return
                    request = self.requests.popleft()
                    self.places.coroutine_done_waiting()
                    request.grant(placed)
            finally:
                self.handing_out = False

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
    ``start(placed)`` submits ``call``, holding its place, on the loop."""

    def __init__(
        self,
        room: Room,
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future,  # type: ignore[type-arg]
        call: Call,
        start: Callable[[_core.PlacedCall], asyncio.Future],  # type: ignore[type-arg]
    ) -> None:
        self.room = room
        self.loop = loop
        self.future = future
        self.call = call
        self.start = start

    def take(self) -> _core.PlacedCall | None:
        return self.room.places.take(*self.call)

    def grant(self, placed: _core.PlacedCall) -> None:
        try:
            self.loop.call_soon_threadsafe(self.granted, placed)
        except RuntimeError:  # the loop closed: nobody awaits the call any more
            placed.leave()

    def granted(self, placed: _core.PlacedCall) -> None:
        if self.future.done():  # cancelled meanwhile: leave no trace
            placed.leave()
            return
        try:
            inner = self.start(placed)
        except BaseException as error:
            # Once only, whoever else holds the call: leave() is idempotent.
            placed.leave()
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
