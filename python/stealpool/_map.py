"""``Executor.map`` with ``buffersize`` on every supported Python.

The stdlib has ``buffersize`` from 3.14 on; this is its algorithm and its
errors, for the Pythons before. With ``buffersize=N`` at most N calls are
submitted and not yet yielded: the next input is read, and its call
submitted, only as a result is taken, so an endless or huge input is
consumed lazily instead of all at once.
"""

from __future__ import annotations

import collections
import itertools
import time
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, Callable


def check_buffersize(buffersize: int | None) -> None:
    if buffersize is not None and not isinstance(buffersize, int):
        raise TypeError("buffersize must be an integer or None")
    if buffersize is not None and buffersize < 1:
        raise ValueError("buffersize must be None or > 0")


def result_or_cancel(future: Future, timeout: float | None = None) -> Any:  # type: ignore[type-arg]
    """As the stdlib's ``_result_or_cancel``: a result not waited for is cancelled."""
    try:
        try:
            return future.result(timeout)
        finally:
            future.cancel()
    finally:
        # Break a reference cycle with the exception in the traceback.
        del future


def buffered_map(
    executor: Executor,
    fn: Callable[..., Any],
    iterables: Iterable[Iterable[Any]],
    timeout: float | None,
    buffersize: int,
) -> Iterator[Any]:
    """``executor.map(fn, *iterables, timeout=timeout, buffersize=buffersize)``."""
    end_time = None if timeout is None else timeout + time.monotonic()
    zipped = zip(*iterables)
    futures = collections.deque(executor.submit(fn, *args) for args in itertools.islice(zipped, buffersize))
    # Weak: the iterator must not keep the executor alive.
    executor_ref = weakref.ref(executor)

    def result_iterator() -> Iterator[Any]:
        try:
            futures.reverse()
            while futures:
                executor = executor_ref()
                args = next(zipped, None) if executor is not None else None
                if args is not None:
                    futures.appendleft(executor.submit(fn, *args))  # type: ignore[union-attr]
                del executor
                if end_time is None:
                    yield result_or_cancel(futures.pop())
                else:
                    yield result_or_cancel(futures.pop(), end_time - time.monotonic())
        finally:
            for future in futures:
                future.cancel()

    return result_iterator()
