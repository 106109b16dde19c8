"""Type stubs for the native module (src/python/)."""

import asyncio
import concurrent.futures
from typing import Any, Callable, final

__all__ = [
    "Core",
    "FutureCondition",
    "Bridge",
    "Tracker",
    "Places",
    "PlacedCall",
    "WorkerHandle",
    "after_fork_in_child",
    "shut_down_at_exit",
    "use_stdlib_future_methods",
    "panic_for_tests",
    "PanicException",
]

class PanicException(BaseException):
    """A Rust panic inside a task, raised on that task's future."""

@final
class WorkerHandle:
    """A worker thread of a pool, as Rust sees it."""

    @property
    def name(self) -> str: ...
    def is_alive(self) -> bool: ...
    def join(self, timeout: float | None = None) -> None: ...

@final
class Tracker:
    """Counts one executor view's tasks in flight."""

    def __init__(self) -> None: ...
    def wait(self) -> None: ...

@final
class Places:
    """The places of a pool with max_queued: an atomic count of tasks queued and not started."""

    def __new__(cls, max_queued: int, on_freed: Callable[[], Callable[[], None] | None]) -> Places: ...
    def take(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any] | None = None
    ) -> PlacedCall | None: ...
    def wait_to_take(
        self,
        timeout: float | None,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
    ) -> PlacedCall | None: ...
    def close(self) -> None: ...
    def coroutine_waits(self) -> None: ...
    def coroutine_done_waiting(self) -> None: ...
    @property
    def queued(self) -> int: ...
    @property
    def waiting(self) -> int: ...

@final
class PlacedCall:
    """A queued call holding a place, given back once: when called, on leave(), or when dropped.
    Made only by Places.take and Places.wait_to_take, with the place."""

    def __call__(self) -> Any: ...
    def leave(self, _future: object = None) -> None: ...

@final
class Bridge:
    """One event loop's completion queue; calling it drains the queue on the loop thread."""

    def __call__(self) -> None: ...

@final
class FutureCondition:
    """A re-entrant condition variable with the threading.Condition surface futures use."""

    def __init__(self) -> None: ...
    def acquire(self, blocking: bool = True, timeout: float = -1.0) -> bool: ...
    def release(self) -> None: ...
    def __enter__(self) -> bool: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def notify(self, n: int = 1) -> None: ...
    def notify_all(self) -> None: ...
    def _is_owned(self) -> bool: ...

@final
class Core:
    """One work-stealing pool."""

    def __new__(
        cls,
        *,
        max_workers: int,
        thread_name_prefix: str,
        idle_timeout: float | None,
        on_worker_start: Callable[[WorkerHandle], None],
        initialize: Callable[[], bool] | None,
        on_worker_exit: Callable[[], None],
        future_class: type[concurrent.futures.Future[Any]],
        stack_size: int = 0,
    ) -> Core: ...
    @property
    def max_workers(self) -> int: ...
    @max_workers.setter
    def max_workers(self, max_workers: int) -> None: ...
    @property
    def broken(self) -> str | None: ...
    @property
    def is_shut_down(self) -> bool: ...
    @property
    def accepting(self) -> bool: ...
    def refusal(self) -> BaseException: ...
    def submit(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
        tracker: Tracker | None = None,
    ) -> concurrent.futures.Future[Any]: ...
    def run(
        self,
        event_loop: asyncio.AbstractEventLoop,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
        tracker: Tracker | None = None,
        *,
        copy_context: bool = True,
        limited_by_caller: bool = False,
    ) -> asyncio.Future[Any]: ...
    def shutdown(self, *, wait: bool = True, cancel_futures: bool = False) -> None: ...
    def break_pool(self, reason: str) -> None: ...
    @property
    def free_workers(self) -> int: ...
    def stats(self) -> dict[str, int]: ...

def after_fork_in_child() -> None: ...
def shut_down_at_exit() -> None: ...
def use_stdlib_future_methods() -> None: ...

# Only in builds with the test-helpers cargo feature (tests/conftest.py).
def panic_for_tests(message: str) -> None: ...
