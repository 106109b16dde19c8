"""Process events every pool must survive: interpreter exit and fork."""

from __future__ import annotations

import gc
import os
import weakref
from typing import Any, Protocol

from . import _core
from ._internals import register_before_threads_join, reinit_at_fork


class ResetAfterFork(Protocol):
    """An executor, as a forked child resets it."""

    def _reset_after_fork(self) -> None: ...


_executors: weakref.WeakSet[ResetAfterFork] = weakref.WeakSet()
_module_locks: list[Any] = []


def track(executor: ResetAfterFork) -> None:
    """Remembers an executor so a forked child can give it a fresh pool."""
    _executors.add(executor)


def lock_reset_in_child(lock: Any) -> Any:
    """A module-level lock made fresh in a forked child, before anything else
    there can take it (returned for ``_lock = lock_reset_in_child(Lock())``)."""
    _module_locks.append(lock)
    return lock


def _after_fork_in_child() -> None:
    # Only the forking thread survives a fork: the parent's workers are gone,
    # its queued work must not run here, and its locks may be held forever.
    # Locks first, and no collection until the executors are reset: a
    # finalizer run by an allocation below may take one of these locks.
    for lock in _module_locks:
        reinit_at_fork(lock)
    collecting = gc.isenabled()
    gc.disable()
    try:
        _core.after_fork_in_child()
        for executor in list(_executors):
            executor._reset_after_fork()
    finally:
        if collecting:
            gc.enable()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

# Like concurrent.futures.thread: run queued work and join every worker just
# before threading joins its own threads, ahead of interpreter finalization.
register_before_threads_join(_core.shut_down_at_exit)
