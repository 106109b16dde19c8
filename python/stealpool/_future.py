"""The ``concurrent.futures.Future`` that ``submit`` returns.

The stdlib's ``Future.__init__`` builds a ``threading.Condition`` (an RLock,
a deque and a handful of bound methods) and two lists for every future, and
that allocation, plus the garbage collection it triggers, costs more than
running a small task. Most futures of a pool are resolved before anybody
waits on them or adds a callback, so this subclass makes those objects on
first use instead, and its condition is ``_core.FutureCondition``, a
re-entrant condition variable made in one small allocation. Its behaviour is
the stdlib's: every method is inherited and reaches the same attributes,
which simply appear when first touched.

While no condition exists nobody can be waiting or holding the future's
lock, so with the GIL held the worker resolves such a future by writing its
state directly (see ``src/python/fast_future.rs``); otherwise, and always on
free-threaded builds, it calls ``set_running_or_notify_cancel`` and
``set_result``/``set_exception`` like the stdlib's worker.
"""

from __future__ import annotations

import concurrent.futures
from concurrent.futures._base import PENDING
from typing import Any, Callable, Generic, TypeVar

from ._core import FutureCondition

T = TypeVar("T")


class MadeOnFirstUse(Generic[T]):
    """A per-instance attribute made by ``factory`` the first time it is read."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self.factory = factory

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        # setdefault: when two threads race, both get the one that landed.
        return instance.__dict__.setdefault(self.name, self.factory())


class Future(concurrent.futures.Future):  # type: ignore[type-arg]
    _state = PENDING
    _result = None
    _exception = None
    _condition = MadeOnFirstUse(FutureCondition)
    _waiters: MadeOnFirstUse[list[Any]] = MadeOnFirstUse(list)
    _done_callbacks: MadeOnFirstUse[list[Any]] = MadeOnFirstUse(list)

    def __init__(self) -> None:
        """Everything else is made on first use."""
