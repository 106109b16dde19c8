"""The anyio rows' floors: ``anyio.to_thread.run_sync`` with the thread taken out.

``run_sync_inline(func, *args)`` takes the loop-side steps of stealpool's
replacement for anyio's worker-thread method (``stealpool._anyio``): a
checkpoint, a token of the default limiter, a shielded cancel scope and a
copy of the caller's context with no async library set; then it calls
``func`` in that context on the loop itself, where the replacement hands it
to a thread. No executor can beat it on the same loop: what it costs is
anyio's own bookkeeping, which every thread offload through anyio pays.
``run_sync_resumed(func, *args)`` takes the same steps and calls ``func``
on the loop too, but hands its result back through a future the loop
resolves, as an offload hands back its thread's result: the caller's task
is suspended once and resumed by the loop. Every offload pays that, so it
is the least any executor's call can cost: ``run_sync_inline`` is the floor
of anyio's bookkeeping, this one of a hop with the thread's own cost left
out.

Imported only where anyio is: it uses anyio's asyncio backend, as the
replacement does.
"""

from __future__ import annotations

import asyncio
from contextvars import copy_context
from typing import Any, Callable

from anyio import WouldBlock
from anyio._backends._asyncio import CancelScope
from anyio._core._eventloop import get_async_backend, set_current_async_library


async def run_sync_inline(func: Callable[..., Any], *args: Any) -> Any:
    return await _with_anyios_steps(func, args, resumed_by_the_loop=False)


async def run_sync_resumed(func: Callable[..., Any], *args: Any) -> Any:
    return await _with_anyios_steps(func, args, resumed_by_the_loop=True)


async def _with_anyios_steps(func: Callable[..., Any], args: tuple[Any, ...], resumed_by_the_loop: bool) -> Any:
    # Looked up per call, as anyio.to_thread.run_sync does before its backend's method.
    backend = get_async_backend()
    await backend.checkpoint()
    limiter = backend.current_default_thread_limiter()
    try:
        limiter.acquire_nowait()
    except WouldBlock:
        await limiter.acquire()
    try:
        with CancelScope(shield=True):
            context = copy_context()
            context.run(set_current_async_library, None)
            result = context.run(func, *args)
            if not resumed_by_the_loop:
                return result
            # Where an offload's caller waits for its thread, holding the token and the scope.
            loop = asyncio.get_running_loop()
            handed_back = loop.create_future()
            loop.call_soon(handed_back.set_result, result)
            return await handed_back
    finally:
        limiter.release()
