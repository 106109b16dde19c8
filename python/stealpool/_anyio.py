"""anyio's ``to_thread.run_sync`` on stealpool, on the loops where install() ran.

anyio has no public hook for the threads behind ``to_thread.run_sync``: on
the asyncio backend, the classmethod ``AsyncIOBackend.run_sync_in_worker_thread``
starts and feeds anyio's own worker threads. ``activate()`` replaces that one
method, process-wide, with ``run_sync_in_worker_thread`` below, at the
first install() after anyio was imported. A call made on
a loop whose default executor is stealpool's is served by stealpool; any
other call (a loop without install(); an executor already shut down, or
shut down while the call waited for its limiter's token; a limiter that is
not an ``anyio.CapacityLimiter``, which anyio only enters with ``async
with``) goes to anyio's original method, untouched. The trio backend is
never touched.

The replacement follows anyio's own method step for step (a checkpoint, the
limiter held for the whole call (less the extra loop pass anyio's limiter
takes after a free token), a cancel scope shielded unless
``abandon_on_cancel``, a copy of the caller's context with no async library
set, the cancel scope and loop token as the worker's thread-locals,
``StopIteration`` turned into ``RuntimeError``) and swaps only anyio's
queue-fed thread for a stealpool job resolved through the completion bridge.
Since it follows anyio's private code, it is applied only to the anyio
versions tested (``SUPPORTED_ANYIO``); others keep anyio's path, with a warning.
A default executor whose class overrides ``submit`` is given each call
through that ``submit``, as ``run_in_executor`` does (see ``_asyncio``).
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import warnings
from collections.abc import Awaitable
from contextvars import copy_context
from typing import Any, Callable

from . import _lifecycle
from ._default_executor import default_executor_of
from ._executor import ThreadPoolExecutor, submit_is_overridden
from ._internals import missing

# The anyio minor releases whose asyncio backend this copies, and no later
# one: a new minor may change the private code it follows. Tested: 4.12.1
# (the last for CPython 3.9) and 4.16.0; 4.13-4.15 were read: their
# run_sync_in_worker_thread is that of 4.12 and 4.16, and so are the names
# used below.
SUPPORTED_ANYIO = ((4, 12), (4, 13), (4, 14), (4, 15), (4, 16))

_activation_lock = _lifecycle.lock_reset_in_child(threading.Lock())
_activated = False


def activate() -> None:
    """Serve anyio's thread offload on installed loops, once anyio is imported.

    Called by every install(). Where anyio has not been imported (not
    installed, or not used yet) it imports nothing and changes nothing, and
    a later install() checks again: install() should not make a process pay
    for importing anyio, nor import anything while other threads may fork.
    """
    global _activated
    if _activated or sys.modules.get("anyio") is None:
        return
    with _activation_lock:
        if _activated:
            return
        try:
            _patch_anyio_backend()
        finally:
            _activated = True


def _patch_anyio_backend() -> None:
    version = anyio_version()
    if not is_supported(version):
        warnings.warn(
            "stealpool serves anyio.to_thread.run_sync only for anyio {}.{} to {}.{}; "
            "anyio {} keeps its own worker threads".format(*SUPPORTED_ANYIO[0], *SUPPORTED_ANYIO[-1], version),
            RuntimeWarning,
            stacklevel=4,
        )
        return
    try:
        from anyio._backends import _asyncio as backend

        backend_class = backend.AsyncIOBackend
        replacement = _serving_installed_loops(backend_class.run_sync_in_worker_thread)
    except (ImportError, AttributeError) as error:
        # An anyio internal listed in _internals.py is gone: anyio keeps its own path.
        missing(f"anyio internal ({error})", f"anyio {version} keeps its own worker threads")
        return
    backend_class.run_sync_in_worker_thread = classmethod(replacement)  # type: ignore[method-assign,assignment]


def anyio_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("anyio")
    except PackageNotFoundError:
        return "of unknown version"


def is_supported(version: str) -> bool:
    match = re.match(r"(\d+)\.(\d+)", version)
    if match is None:
        return False
    return (int(match.group(1)), int(match.group(2))) in SUPPORTED_ANYIO


def _serving_installed_loops(anyio_method: Callable[..., Any]) -> Callable[..., Any]:
    """``run_sync_in_worker_thread`` that uses stealpool on installed loops."""
    from anyio import CapacityLimiter, WouldBlock
    from anyio._backends._asyncio import AsyncIOBackend, CancelScope, _default_thread_limiter
    from anyio._core._eventloop import set_current_async_library, threadlocals
    from anyio.lowlevel import EventLoopToken, _run_vars

    # Read on every call below: if anyio dropped it, fail here, at activation.
    CancelScope()._parent_scope
    anyio_default_limiter = AsyncIOBackend.__dict__["current_default_thread_limiter"].__func__

    async def run_sync_in_worker_thread(
        cls: Any,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        abandon_on_cancel: bool = False,
        limiter: Any | None = None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        executor = default_executor_of(loop)
        # Not installed, or already shut down (anyio's threads never refuse
        # a call), or a limiter of the caller's own class, which only
        # anyio's `async with limiter` is sure to hold as the caller meant.
        if (
            not isinstance(executor, ThreadPoolExecutor)
            or executor._shutdown
            or (limiter is not None and not isinstance(limiter, CapacityLimiter))
        ):
            return await anyio_method(func, args, abandon_on_cancel=abandon_on_cancel, limiter=limiter)
        await cls.checkpoint()
        limiter = limiter or default_limiter(cls, loop)
        # anyio's `async with limiter` follows a free token with one more
        # (shielded) pass through the loop; here the wait for the call is
        # that scheduling point. A busy limiter is waited for as anyio does.
        try:
            limiter.acquire_nowait()
        except WouldBlock:
            await limiter.acquire()
        try:
            with CancelScope(shield=not abandon_on_cancel) as scope:
                context = copy_context()
                context.run(set_current_async_library, None)
                # As anyio: a shielded call reports the enclosing scope to check_cancelled().
                if abandon_on_cancel or scope._parent_scope is None:
                    worker_scope = scope
                else:
                    worker_scope = scope._parent_scope
                call = (call_as_anyio_worker, EventLoopToken(cls, loop), worker_scope, func, args)
                started = start_on(executor, loop, context.run, call)
                if started is not None:
                    return await started
        finally:
            limiter.release()
        # The executor shut down while this call waited for its token (or
        # in another thread since the check above): served as a call made
        # after the shutdown is, anyio's path taking the token again.
        return await anyio_method(func, args, abandon_on_cancel=abandon_on_cancel, limiter=limiter)

    def default_limiter(cls: Any, loop: asyncio.AbstractEventLoop) -> Any:
        """``cls.current_default_thread_limiter()``, read where its RunVar
        keeps it: anyio would first find the running loop again through
        sniffio and its backend lookup, about 2 us of every call's 30. The
        first call on a loop, or a method patched over anyio's, goes the
        long way."""
        run_vars = _run_vars.get(loop)
        patched = getattr(cls.current_default_thread_limiter, "__func__", None) is not anyio_default_limiter
        if run_vars is not None and not patched:
            limiter = run_vars.get(_default_thread_limiter)
            if limiter is not None:
                return limiter
        return cls.current_default_thread_limiter()

    def start_on(
        executor: ThreadPoolExecutor, loop: asyncio.AbstractEventLoop, run: Callable[..., Any], call: tuple[Any, ...]
    ) -> Awaitable[Any] | None:
        """The call started on ``executor``; None if it is shut down (a
        loop's view of the shared pool is, while the pool still runs)."""
        if executor._shutdown:
            return None
        try:
            if submit_is_overridden(executor):
                return asyncio.wrap_future(executor.submit(run, *call))
            # The limiter, not max_workers, bounds these calls, as on
            # anyio's own threads: a call holding a token starts at once.
            return executor._core.run(
                loop, run, call, None, executor._tracker, copy_context=False, limited_by_caller=True
            )
        except RuntimeError:
            if executor._shutdown:
                return None
            raise

    def call_as_anyio_worker(token: Any, cancel_scope: Any, func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        # On a stealpool worker, the thread-locals an anyio worker thread has
        # (anyio's claim_worker_thread), so from_thread.run/run_sync and
        # check_cancelled find the loop and the scope.
        threadlocals.current_token = token
        threadlocals.current_cancel_scope = cancel_scope
        try:
            return func(*args)
        except StopIteration as exc:
            stopped = exc
        finally:
            del threadlocals.current_cancel_scope
            del threadlocals.current_token
        # As anyio delivers it: an asyncio future cannot hold a StopIteration.
        error = RuntimeError("coroutine raised StopIteration")
        error.__cause__ = stopped
        raise error

    run_sync_in_worker_thread.__doc__ = anyio_method.__doc__
    return run_sync_in_worker_thread
