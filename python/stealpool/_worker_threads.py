"""Worker threads as the ``threading`` module sees them.

A stealpool worker is a Rust thread, not one started by ``threading``. Each
registers an object in ``threading._active`` while it lives, so
``threading.current_thread().name``, logging's ``%(threadName)s`` and
``executor._threads`` show the pool's names, and removes it when it exits, so
no dummy-thread entries pile up.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable

from ._internals import FUTURES_LOGGER, REGISTERS_WORKERS, DummyThread, thread_hooks, unregister_current_thread
from ._pool_state import PoolState, current_worker

if TYPE_CHECKING:
    from ._core import WorkerHandle


class WorkerThread(DummyThread):  # type: ignore[misc,valid-type]
    """The ``threading.Thread`` face of one worker: ``name``, ``is_alive()``, ``join()``."""

    def __init__(self, handle: WorkerHandle) -> None:
        super().__init__()
        self.name = handle.name
        # Like the stdlib's workers (exit joins these too); a dummy thread says daemon.
        self._daemonic = False
        self._stealpool_handle = handle

    def is_alive(self) -> bool:
        return self._stealpool_handle.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self is threading.current_thread():
            raise RuntimeError("cannot join current thread")
        self._stealpool_handle.join(timeout)


def on_worker_start(pool_ref: weakref.ref[PoolState], handle: WorkerHandle) -> None:
    """Runs first on every new worker: registers it, then gives it the hooks
    every new ``threading.Thread`` gets, so debuggers, profilers and
    coverage see the pool's code (``threading.settrace``, ``setprofile`` and,
    where present, their ``_all_threads`` forms, which set the same hooks)."""
    current_worker.pool_ref = pool_ref
    if REGISTERS_WORKERS:
        thread = WorkerThread(handle)
        pool = pool_ref()
        if pool is not None:
            pool.worker_threads.add(thread)
        del pool
    trace_hook, profile_hook = thread_hooks()
    if trace_hook is not None:
        sys.settrace(trace_hook)
    if profile_hook is not None:
        sys.setprofile(profile_hook)


def run_initializer(initializer: Callable[..., object], initargs: tuple[Any, ...]) -> bool:
    """Runs the pool's initializer on a new worker. False: it failed, and the
    worker breaks the pool (queued and later work fail with
    ``BrokenThreadPool``). What it leaves in the worker's context is seen by
    every task that worker runs."""
    try:
        initializer(*initargs)
    except BaseException:
        # Exactly as the stdlib's worker reports a failed initializer.
        FUTURES_LOGGER.critical("Exception in initializer:", exc_info=True)
        return False
    return True


def on_worker_exit(pool_ref: weakref.ref[PoolState]) -> None:
    """Runs last on every worker: forget its ``threading`` entry."""
    if not REGISTERS_WORKERS:
        return
    thread = unregister_current_thread()
    pool = pool_ref()
    if pool is not None:
        pool.worker_threads.discard(thread)
