"""The anyio rows' floor: ``anyio.to_thread.run_sync`` with the thread taken out.

``run_sync_inline(func, *args)`` takes the loop-side steps of stealpool's
replacement for anyio's worker-thread method (``stealpool._anyio``): a
checkpoint, a token of the default limiter, a shielded cancel scope and a
copy of the caller's context with no async library set; then it calls
``func`` in that context on the loop itself, where the replacement hands it
to a thread. No executor can beat it on the same loop: what it costs is
anyio's own bookkeeping, which every thread offload through anyio pays.
Imported only where anyio is: it uses anyio's asyncio backend, as the
replacement does.
"""

from __future__ import annotations

from contextvars import copy_context
from typing import Any, Callable

from anyio import WouldBlock
from anyio._backends._asyncio import CancelScope
from anyio._core._eventloop import get_async_backend, set_current_async_library


async def run_sync_inline(func: Callable[..., Any], *args: Any) -> Any:
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
            return context.run(func, *args)
    finally:
        limiter.release()
