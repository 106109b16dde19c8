"""What a pool's workers, and the waits made on them, share with its executor.

The worker callbacks (``_worker_threads.py``) and the waits a worker makes
on its own pool's futures (``_nested.py``, ``_future.py``) need a few things
of the pool: its ``Core``, the ``threading`` face of its live workers and the
count of tasks a waiter ran itself. They find them here, never in the
executor's attributes, so those modules need not know the executor. Each
worker keeps a weak reference to its pool's state: the executor alone keeps
it alive, as it keeps the ``Core``.
"""

from __future__ import annotations

import threading
import weakref

from . import _core


class PoolState:
    """One pool's state shared with its workers; a forked child keeps it
    and gives it a fresh ``core``."""

    # Set by the executor once the Core exists (the Core's worker hooks
    # refer to this state, so it comes first), and again after a fork.
    core: _core.Core

    def __init__(self) -> None:
        self.worker_threads: set[threading.Thread] = set()
        self.ran_inline = 0
        self._ran_inline_lock = threading.Lock()

    def count_inline_run(self) -> None:
        with self._ran_inline_lock:
            self.ran_inline += 1


class CurrentWorker(threading.local):
    """Which pool, if any, the calling thread is a worker of."""

    pool_ref: weakref.ref[PoolState] | None = None


current_worker = CurrentWorker()
