"""A loop's view of the shared pool (``install()``): its shutdown.

``shutdown(wait=True)`` waits for the loop's own work, never for the caller
itself; the last view to shut down takes the shared pool's workers with it,
as the stdlib's ``shutdown_default_executor`` joins its threads.
"""

from __future__ import annotations

import asyncio
import threading

import stealpool
from python_subprocess import run_python

BOUND = 30  # seconds: a hang fails the test instead of the suite


def test_a_task_shutting_down_its_own_view_does_not_wait_for_itself(loop_kind):
    # In a subprocess: a view that waits for its caller never returns.
    result = run_python(
        f"""
        import asyncio, threading, stealpool
        if {loop_kind!r} == "uvloop":
            import uvloop
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        other_started, release_other = threading.Event(), threading.Event()

        def other_task():
            other_started.set()
            release_other.wait({BOUND})

        def shut_down_own_view(view):
            other_started.wait({BOUND})
            # The other task ends only once this one is waiting for it.
            threading.Timer(0.05, release_other.set).start()
            view.shutdown(wait=True)
            return release_other.is_set()

        async def main():
            view = stealpool.install()
            assert type(view) is stealpool._asyncio.LoopExecutor
            loop = asyncio.get_running_loop()
            other = loop.run_in_executor(None, other_task)
            waited_for_other = await loop.run_in_executor(None, shut_down_own_view, view)
            await other
            try:
                view.submit(int)
            except RuntimeError as refused:
                return waited_for_other, str(refused)

        print(asyncio.run(main()))
        """,
        timeout=BOUND,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "(True, 'cannot schedule new futures after shutdown')\n"


async def install_and_run_on_workers(calls=4):
    """Installs stealpool; returns the loop's view and the worker thread objects that ran the calls."""
    view = stealpool.install()
    workers = await asyncio.gather(*(asyncio.to_thread(threading.current_thread) for _ in range(calls)))
    return view, workers


def test_no_worker_outlives_the_last_loop_using_the_shared_pool(run):
    view, workers = run(install_and_run_on_workers)
    assert all(type(worker) is stealpool._worker_threads.WorkerThread for worker in workers)
    assert all(worker.name.startswith("asyncio_") for worker in workers)
    # As the stdlib's shutdown_default_executor: every worker joined before it returned.
    assert [worker for worker in workers if worker.is_alive()] == []
    assert not set(workers) & set(threading.enumerate())
    assert view._pool._shutdown and view._pool.stats()["workers"] == 0

    next_view, next_workers = run(install_and_run_on_workers)
    assert next_view._pool is not view._pool
    assert all(type(worker) is stealpool._worker_threads.WorkerThread for worker in next_workers)


def test_a_loop_still_using_the_shared_pool_keeps_it(run, new_loop):
    still_open = new_loop()
    other_view, _ = still_open.run_until_complete(install_and_run_on_workers())

    view, _ = run(install_and_run_on_workers)
    assert view._pool is other_view._pool and not view._pool._shutdown
    _, workers = still_open.run_until_complete(install_and_run_on_workers())
    assert all(worker.name.startswith("asyncio_") for worker in workers)

    still_open.run_until_complete(still_open.shutdown_default_executor())
    still_open.close()
    assert [worker for worker in workers if worker.is_alive()] == []
    assert view._pool._shutdown and view._pool.stats()["workers"] == 0
