"""stealpool as asyncio's default executor.

``install()`` without pool arguments gives the loop a view of the
process-wide pool (see ``_shared_pool``); ``install(**pool_kwargs)`` gives it
a pool of its own, shut down with the loop.

asyncio's ``run_in_executor`` wraps a ``concurrent.futures.Future`` in an
asyncio one, with a lock, a condition, two callback chains and a self-pipe
write per call. ``install()`` replaces ``run_in_executor`` *on that loop
instance* (stock asyncio and uvloop alike) so calls for a stealpool executor
(``None`` included: ``asyncio.to_thread``, ``getaddrinfo``) are resolved
through the batched completion bridge instead, after the checks the loop's
own method makes, in its order; other executors, and subclasses that
override ``submit`` (which must see every call), take the loop's own path.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from typing import Any, Callable, TypeVar

from ._anyio import activate as activate_anyio_offload
from ._default_executor import default_executor_of, record_default_executor
from ._executor import ThreadPoolExecutor, submit_is_overridden
from ._install_arguments import refuse_other_pool_arguments
from ._internals import LOOP_CHECKS
from ._shared_pool import LoopExecutor, shared_pool

T = TypeVar("T")


def install(loop: asyncio.AbstractEventLoop | None = None, **pool_kwargs: Any) -> ThreadPoolExecutor:
    """Make stealpool the default executor of ``loop`` (default: the running loop).

    Without ``pool_kwargs`` the loop shares the process-wide pool; with them
    (``max_workers=...``, ``idle_timeout=...``) it gets a pool of its own.
    Idempotent: a loop that already has a stealpool default executor keeps
    it, and ``pool_kwargs`` that this executor does not match raise
    ``RuntimeError`` rather than being ignored. Returns the loop's executor.
    """
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "no running event loop: call stealpool.install() inside a coroutine, or pass loop="
            ) from None
    activate_anyio_offload()
    current = default_executor_of(loop)
    if isinstance(current, ThreadPoolExecutor):
        refuse_other_pool_arguments(current, pool_kwargs)
        _route_run_in_executor(loop)
        return current
    executor = ThreadPoolExecutor(**pool_kwargs) if pool_kwargs else LoopExecutor()
    record_default_executor(loop)
    loop.set_default_executor(executor)
    if current is not None:
        current.shutdown(wait=False)
    _route_run_in_executor(loop)
    return executor


def _route_run_in_executor(loop: asyncio.AbstractEventLoop) -> None:
    loop_run_in_executor = loop.run_in_executor
    if getattr(loop_run_in_executor, "_stealpool_route", False):
        return

    def run_in_executor(executor: Any, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        chosen = default_executor_of(loop) if executor is None else executor
        if not isinstance(chosen, ThreadPoolExecutor) or submit_is_overridden(chosen):
            return loop_run_in_executor(executor, func, *args)
        _check_run_in_executor(loop, func, executor is None)
        return chosen._run_for_loop(loop, func, args)

    run_in_executor._stealpool_route = True  # type: ignore[attr-defined]
    run_in_executor.__doc__ = loop_run_in_executor.__doc__
    # mypy compares a function assigned to an instance with the unbound method, self included.
    loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]


def _check_run_in_executor(loop: asyncio.AbstractEventLoop, func: Any, default: bool) -> None:
    """The checks the loop's own ``run_in_executor`` makes before it submits, in its order."""
    if isinstance(loop, asyncio.BaseEventLoop) and LOOP_CHECKS:
        loop._check_closed()  # type: ignore[attr-defined]
        if loop._debug:  # type: ignore[attr-defined]
            loop._check_callback(func, "run_in_executor")  # type: ignore[attr-defined]
    else:  # uvloop's order and messages
        if asyncio.iscoroutine(func) or inspect.iscoroutinefunction(func):
            raise TypeError("coroutines cannot be used with run_in_executor()")
        if loop.is_closed():
            raise RuntimeError("Event loop is closed")
    if default:
        check_default_executor(loop)


def check_default_executor(loop: asyncio.AbstractEventLoop) -> None:
    """Raises asyncio's error once ``shutdown_default_executor`` has been called."""
    check = getattr(loop, "_check_default_executor", None)
    if check is not None:
        check()


def loop_factory() -> asyncio.AbstractEventLoop:
    """A new event loop (of the current policy) with stealpool installed.

    For ``asyncio.run(main(), loop_factory=stealpool.loop_factory)`` (3.12+)
    and ``asyncio.Runner(loop_factory=stealpool.loop_factory)`` (3.11+).
    """
    loop = asyncio.new_event_loop()
    install(loop)
    return loop


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None, **pool_kwargs: Any) -> T:
    """``asyncio.run(main)`` with ``install(**pool_kwargs)`` done first."""
    if not asyncio.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")

    async def installed_then_main() -> T:
        install(**pool_kwargs)
        return await main

    return asyncio.run(installed_then_main(), debug=debug)


__all__ = ["LoopExecutor", "install", "loop_factory", "run", "shared_pool"]
