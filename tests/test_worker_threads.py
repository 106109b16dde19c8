"""Worker threads as ``threading`` reports them, next to the stdlib's."""

from __future__ import annotations

import concurrent.futures
import threading

import stealpool


def thread_facts():
    thread = threading.current_thread()
    return type(thread), thread.daemon


def test_workers_are_not_daemon_threads_like_the_stdlibs():
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as stdlib_pool:
        _, stdlib_daemon = stdlib_pool.submit(thread_facts).result()
        (stdlib_worker,) = stdlib_pool._threads
    with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
        thread_type, daemon = pool.submit(thread_facts).result()
        (worker,) = pool._threads
    assert thread_type is stealpool._worker_threads.WorkerThread
    assert (daemon, worker.daemon) == (stdlib_daemon, stdlib_worker.daemon) == (False, False)
