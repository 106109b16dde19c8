"""Interpreter exit and fork, each in a fresh subprocess."""

from __future__ import annotations

import time

import pytest
from python_subprocess import needs_fork, run_python


def test_exit_runs_queued_work_and_joins_workers():
    result = run_python(
        """
        import sys, time, stealpool
        pool = stealpool.ThreadPoolExecutor(max_workers=2)
        def slow(i):
            time.sleep(0.01)
            sys.stdout.write(f"ran {i}\\n")
        for i in range(20):
            pool.submit(slow, i)
        """
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split("\n")[:-1]) == sorted(f"ran {i}" for i in range(20))
    assert result.stderr == ""


@pytest.mark.parametrize(
    "state",
    ["parked", "sleeping in a task", "dropped without shutdown", "never started"],
)
def test_exit_never_hangs_or_crashes(state):
    setups = {
        "parked": "pool = stealpool.ThreadPoolExecutor(idle_timeout=None); pool.submit(int).result()",
        "sleeping in a task": "pool = stealpool.ThreadPoolExecutor(); pool.submit(time.sleep, 0.2)",
        "dropped without shutdown": "stealpool.ThreadPoolExecutor().submit(time.sleep, 0.1)",
        "never started": "pool = stealpool.ThreadPoolExecutor()",
    }
    result = run_python(f"import time, stealpool\n{setups[state]}\nprint('main done')")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "main done\n"
    assert result.stderr == ""


def test_submit_during_interpreter_shutdown_is_refused_like_the_stdlib():
    result = run_python(
        """
        import atexit, stealpool
        pool = stealpool.ThreadPoolExecutor()
        @atexit.register
        def late():
            try:
                pool.submit(int)
            except RuntimeError as error:
                print(error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "cannot schedule new futures after interpreter shutdown\n"


def test_sys_exit_while_workers_run():
    result = run_python(
        """
        import sys, time, stealpool
        pool = stealpool.ThreadPoolExecutor(max_workers=4)
        for _ in range(8):
            pool.submit(time.sleep, 0.05)
        sys.exit(3)
        """
    )
    assert result.returncode == 3, result.stderr


def test_unhandled_keyboard_interrupt_in_the_main_thread():
    result = run_python(
        """
        import time, stealpool
        pool = stealpool.ThreadPoolExecutor(max_workers=2)
        for _ in range(4):
            pool.submit(time.sleep, 0.05)
        raise KeyboardInterrupt
        """
    )
    assert result.returncode in (1, -2, 130), result.stderr
    assert "KeyboardInterrupt" in result.stderr
    assert "Fatal" not in result.stderr and "panicked" not in result.stderr


@needs_fork
def test_forked_child_gets_a_working_pool_and_not_the_parents_queue():
    result = run_python(
        """
        import os, threading, time, stealpool
        pool = stealpool.ThreadPoolExecutor(max_workers=1)
        release = threading.Event()
        blocker = pool.submit(release.wait)
        while pool.stats()["running"] == 0:
            time.sleep(0.001)
        queued = pool.submit(print, "parent work ran", flush=True)
        pid = os.fork()
        if pid == 0:
            child = pool.submit(lambda: "child ok").result(timeout=10)
            print(child, pool.stats()["completed"], flush=True)
            pool.shutdown()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        release.set()
        queued.result(timeout=10)
        pool.shutdown()
        print("child status", status)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "child ok 1" in lines
    assert lines.count("parent work ran") == 1
    assert "child status 0" in lines


@needs_fork
def test_multiprocessing_fork_start_method_children_can_use_stealpool():
    result = run_python(
        """
        import multiprocessing, stealpool
        pool = stealpool.ThreadPoolExecutor(max_workers=2)
        pool.submit(int).result()
        def in_child(x):
            return pool.submit(lambda: x * 2).result(timeout=10)
        if __name__ == "__main__":
            with multiprocessing.get_context("fork").Pool(2) as processes:
                print(processes.map(in_child, range(6)))
            print(pool.submit(lambda: "parent ok").result())
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[0, 2, 4, 6, 8, 10]", "parent ok"]


def test_using_stealpool_imports_nothing_the_package_import_did_not():
    # A module a thread imports lazily while another thread forks stays
    # locked in the child, and the child's import of it hangs: stealpool's
    # own paths (install, to_thread, submit, map, shutdown) import nothing.
    result = run_python(
        """
        import asyncio, sys, stealpool
        before = set(sys.modules)
        pool = stealpool.ThreadPoolExecutor(max_workers=2)
        assert pool.submit(abs, -1).result() == 1 and list(pool.map(abs, [-2])) == [2]

        async def main():
            stealpool.install()
            await asyncio.to_thread(abs, -3)
            await stealpool.to_thread(abs, -4)
            await pool.run(abs, -5)

        asyncio.run(main())
        pool.shutdown()
        print(pool.stats()["completed"], sorted(m for m in set(sys.modules) - before if m.startswith("stealpool")))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "[]"]


@needs_fork
def test_a_child_forked_by_a_snippet_and_left_running_dies_with_the_snippet():
    result = run_python(
        """
        import os, time
        pid = os.fork()
        if pid == 0:
            time.sleep(3600)
            os._exit(0)
        print(pid)
        """,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    orphan = int(result.stdout)
    # Killed by run_python, then reaped by init: gone, or a zombie for a moment.
    for _ in range(3000):
        try:
            with open(f"/proc/{orphan}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.01)
    else:
        raise AssertionError(f"the snippet's child {orphan} still runs")


@needs_fork
@pytest.mark.parametrize(
    "lock, use",
    [
        ("stealpool._shared_pool._shared_pool_lock", "stealpool.shared_pool().submit(int).result()"),
        ("stealpool._anyio._activation_lock", "import anyio; stealpool._anyio.activate()"),
    ],
)
def test_a_module_lock_held_by_another_thread_at_fork_is_free_in_the_child(lock, use):
    result = run_python(
        f"""
        import os, signal, sys, threading
        import stealpool, stealpool._anyio, stealpool._shared_pool
        held, release = threading.Event(), threading.Event()
        def hold():
            with {lock}:
                held.set()
                release.wait()
        threading.Thread(target=hold, daemon=True).start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)  # a lock left held would hang the child: end it instead
            {use}
            print("child used it", flush=True)
            os._exit(0)
        release.set()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "child used it\n"
