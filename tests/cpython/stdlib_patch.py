"""Puts stealpool in the stdlib's place, for CPython's own tests.

Copied into the test virtualenv with a ``.pth`` line that imports it, so
every interpreter of that virtualenv runs it at startup, the child
processes CPython's tests start included (they run with ``-I``, which
ignores ``PYTHONPATH`` but still reads the virtualenv's ``.pth`` files). It
does nothing unless ``STEALPOOL_PATCH_STDLIB`` is ``1``, so the virtualenv
stays usable for everything else.

- ``concurrent.futures.ThreadPoolExecutor`` (and ``concurrent.futures.thread``'s)
  is ``stealpool.ThreadPoolExecutor``.
- asyncio's loops make their default executor with ``stealpool.install()``
  instead of a stdlib pool: on the first ``run_in_executor(None, ...)``, when
  asyncio itself would make one.
- With ``STEALPOOL_PATCH_LOG`` set to a file name, each process appends how
  many stealpool executors it made and how many calls they accepted, so the
  runner can prove that stealpool, not the stdlib, ran the tests.
"""

from __future__ import annotations

import os

ENABLE = "STEALPOOL_PATCH_STDLIB"
LOG = "STEALPOOL_PATCH_LOG"

counts = {"executors": 0, "calls": 0, "installs": 0}


def apply() -> None:
    import asyncio.base_events
    import atexit
    import concurrent.futures
    import concurrent.futures.thread

    import stealpool

    executor_class = stealpool.ThreadPoolExecutor
    concurrent.futures.ThreadPoolExecutor = executor_class  # type: ignore[misc]
    concurrent.futures.thread.ThreadPoolExecutor = executor_class  # type: ignore[misc]

    init, submit, run_for_loop = executor_class.__init__, executor_class.submit, executor_class._run_for_loop

    def counted_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        counts["executors"] += 1

    def counted_submit(self, fn, /, *args, **kwargs):
        future = submit(self, fn, *args, **kwargs)
        counts["calls"] += 1
        return future

    def counted_run_for_loop(self, *args, **kwargs):
        future = run_for_loop(self, *args, **kwargs)
        counts["calls"] += 1
        return future

    executor_class.__init__ = counted_init  # type: ignore[method-assign]
    executor_class.submit = counted_submit  # type: ignore[method-assign]
    executor_class._run_for_loop = counted_run_for_loop  # type: ignore[method-assign]

    loop_run_in_executor = asyncio.base_events.BaseEventLoop.run_in_executor

    def run_in_executor(self, executor, func, *args):
        # Where asyncio would make its own default executor, install() instead;
        # install() routes this loop's later calls itself.
        if (
            executor is None
            and self._default_executor is None
            and not self._executor_shutdown_called
            and not self.is_closed()
        ):
            stealpool.install(self)
            counts["installs"] += 1
            return self.run_in_executor(executor, func, *args)
        return loop_run_in_executor(self, executor, func, *args)

    asyncio.base_events.BaseEventLoop.run_in_executor = run_in_executor  # type: ignore[method-assign]

    if os.environ.get(LOG):
        atexit.register(write_counts, os.environ[LOG])


def write_counts(path: str) -> None:
    with open(path, "a") as log:
        log.write("{executors} {calls} {installs}\n".format(**counts))


if os.environ.get(ENABLE) == "1":
    apply()
