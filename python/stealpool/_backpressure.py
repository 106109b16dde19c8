"""``max_queued``: submitters wait for room instead of growing the queue.

A task holds one of ``max_queued`` places from its submission until it
starts, or until its future is done without it ever starting (cancelled,
the pool broken or shut down with ``cancel_futures``), whichever comes
first, exactly once. Submitters wait on a ``threading.Condition``, whose
waits release the GIL. Submissions from a worker of the same pool are let
through without a place (see ``Room.take``), so a task that submits to a
full pool never deadlocks.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Dict, Optional, Tuple


class QueueFull(queue.Full):
    """``submit_nowait`` (or ``submit_within`` after its timeout) found
    ``max_queued`` tasks queued and not started."""


class Room:
    """The places of a pool with ``max_queued``."""

    def __init__(self, max_queued: int) -> None:
        self.max_queued = max_queued
        self.queued = 0
        self.waiting = 0
        self.condition = threading.Condition(threading.Lock())

    def take(self, timeout: Optional[float], is_open: Callable[[], bool]) -> bool:
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
                        raise QueueFull("{} tasks are queued and not started (max_queued)".format(self.queued))
                    self.condition.wait(left)
            finally:
                self.waiting -= 1
            if not is_open():
                return False
            self.queued += 1
            return True

    def give_back(self) -> None:
        with self.condition:
            self.queued -= 1
            self.condition.notify()

    def wake_everyone(self) -> None:
        with self.condition:
            self.condition.notify_all()


class Placed:
    """A queued call holding a place: gives it back once, when the call
    starts or when its future is done without it."""

    __slots__ = ("room", "call")

    def __init__(self, room: Room, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        self.room: Optional[Room] = room
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
