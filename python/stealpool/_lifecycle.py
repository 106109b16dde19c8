"""Process events every pool must survive: interpreter exit and fork."""

from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING

from . import _core

if TYPE_CHECKING:
    from ._executor import ThreadPoolExecutor

_executors: weakref.WeakSet[ThreadPoolExecutor] = weakref.WeakSet()


def track(executor: ThreadPoolExecutor) -> None:
    """Remembers an executor so a forked child can give it a fresh pool."""
    _executors.add(executor)


def _after_fork_in_child() -> None:
    # Only the forking thread survives a fork: the parent's workers are gone,
    # its queued work must not run here, and its locks may be held forever.
    _core.after_fork_in_child()
    for executor in list(_executors):
        executor._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

# Like concurrent.futures.thread: run queued work and join every worker just
# before threading joins its own threads, ahead of interpreter finalization.
threading._register_atexit(_core.shut_down_at_exit)  # type: ignore[attr-defined]
