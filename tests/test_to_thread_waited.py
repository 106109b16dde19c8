"""``stealpool.to_thread`` on a loop without ``install()`` is waited for like
``asyncio.to_thread``: the loop's ``shutdown_default_executor`` (which
``asyncio.run`` calls) returns only once that work has ended."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import pytest
import stealpool


def start_then_leave(to_thread, events):
    """A main() that starts work, stops awaiting it while it runs, and returns."""

    def work():
        events.append("work started")
        time.sleep(0.2)  # long enough that an exit not waiting for it comes first
        events.append(("work ended on", type(threading.current_thread())))

    async def main():
        task = asyncio.ensure_future(to_thread(work))
        while not events:
            await asyncio.sleep(0.001)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return main


@pytest.mark.parametrize("to_thread", [asyncio.to_thread, stealpool.to_thread], ids=["stdlib", "stealpool"])
def test_shutdown_default_executor_waits_for_to_thread(run, to_thread):
    events = []
    run(start_then_leave(to_thread, events))
    events.append("run returned")
    worker_type = stealpool._worker_threads.WorkerThread if to_thread is stealpool.to_thread else threading.Thread
    assert events == ["work started", ("work ended on", worker_type), "run returned"]


def test_a_foreign_default_executor_and_stealpool_are_both_waited_for(run):
    events = []
    with_stealpool = start_then_leave(stealpool.to_thread, events)

    async def main():
        # The stdlib's default executor, made by the loop itself.
        await asyncio.get_running_loop().run_in_executor(None, int)
        await with_stealpool()

    run(main)
    events.append("run returned")
    assert events == ["work started", ("work ended on", stealpool._worker_threads.WorkerThread), "run returned"]


def test_to_thread_after_shutdown_default_executor_is_refused_like_asyncio(run):
    async def main():
        loop = asyncio.get_running_loop()
        await stealpool.to_thread(int)
        await loop.shutdown_default_executor()
        refused = []
        for to_thread in (asyncio.to_thread, stealpool.to_thread):
            with pytest.raises(RuntimeError) as caught:
                await to_thread(int)
            refused.append(str(caught.value))
        return refused

    assert run(main) == ["Executor shutdown has been called"] * 2
