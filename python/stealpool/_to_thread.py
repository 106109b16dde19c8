"""``stealpool.to_thread``: ``asyncio.to_thread``, always on stealpool.

On a loop with stealpool installed it runs on the loop's executor. On any
other loop it runs on a view of the shared pool kept for that loop, and the
loop waits for that work as for its own default executor's: stealpool wraps
the loop's ``shutdown_default_executor`` (which ``asyncio.run`` calls) and
``close``, on that instance, to shut the view down too.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from typing import Any, Callable, TypeVar

from ._asyncio import check_default_executor
from ._default_executor import default_executor_of
from ._executor import ThreadPoolExecutor
from ._shared_pool import LoopExecutor

T = TypeVar("T")


async def to_thread(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``asyncio.to_thread`` that always runs on stealpool: the loop's
    stealpool executor if installed, else a view of the process-wide pool
    kept for this loop and waited for by its ``shutdown_default_executor``."""
    loop = asyncio.get_running_loop()
    check_default_executor(loop)
    installed = default_executor_of(loop)
    executor = installed if isinstance(installed, ThreadPoolExecutor) else _to_thread_view(loop)
    return await executor.run(func, *args, **kwargs)


def _to_thread_view(loop: asyncio.AbstractEventLoop) -> LoopExecutor:
    view: LoopExecutor | None = getattr(loop, "_stealpool_to_thread_view", None)
    if view is None:
        view = LoopExecutor()
        loop._stealpool_to_thread_view = view  # type: ignore[attr-defined]
        _shut_down_with_the_default_executor(loop, view)
    return view


def _shut_down_with_the_default_executor(loop: asyncio.AbstractEventLoop, view: LoopExecutor) -> None:
    """Makes the loop's ``shutdown_default_executor`` and ``close`` (on this
    instance) shut ``view`` down as they do the default executor."""
    shutdown_default_executor = loop.shutdown_default_executor
    close = loop.close

    async def shutdown_default_executor_and_view(*args: Any, **kwargs: Any) -> None:
        try:
            await shutdown_default_executor(*args, **kwargs)
        finally:
            timeout = args[0] if args else kwargs.get("timeout")
            await _shut_down_off_the_loop(loop, view, timeout)

    def close_and_shut_down_view() -> None:
        close()
        view.shutdown(wait=False)

    shutdown_default_executor_and_view.__doc__ = shutdown_default_executor.__doc__
    close_and_shut_down_view.__doc__ = close.__doc__
    loop.shutdown_default_executor = shutdown_default_executor_and_view  # type: ignore[method-assign]
    loop.close = close_and_shut_down_view  # type: ignore[method-assign]


async def _shut_down_off_the_loop(loop: asyncio.AbstractEventLoop, view: LoopExecutor, timeout: float | None) -> None:
    """``view.shutdown(wait=True)`` in a helper thread, as asyncio shuts its
    default executor down, with the same ``timeout`` and warning."""
    done = loop.create_future()

    def shut_down() -> None:
        try:
            view.shutdown(wait=True)
        finally:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_set_done, done)

    thread = threading.Thread(target=shut_down, name="stealpool_to_thread_shutdown")
    thread.start()
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout)
    except asyncio.TimeoutError:
        warnings.warn(
            f"The executor did not finishing joining its threads within {timeout} seconds.",
            RuntimeWarning,
            stacklevel=2,
        )
        view.shutdown(wait=False)
    else:
        thread.join()


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
