"""Fork in the middle of a burst: ``os.fork`` and multiprocessing's fork start method.

Each test runs a script in a fresh interpreter (so pytest's own threads and
state are not forked): two threads and an event loop keep submitting to a
pool while the main thread forks. Each child must get a working pool
(``submit``, ``map``, ``pool.run``, ``install()`` + ``asyncio.to_thread``)
and must never run the parent's queued work; the parent must lose nothing
(every future it got completes with its own result, every task runs once).
Children are bounded too: the parent kills one that has not exited in time
and reports it.
"""

from __future__ import annotations

import multiprocessing

import pytest
from python_subprocess import needs_fork

needs_fork_context = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(),
    reason="multiprocessing has no 'fork' start method on this platform",
)

BURST = """
import asyncio, os, sys, threading, time, traceback
import concurrent.futures
import stealpool

N = int(sys.argv[1])
FORKS = int(sys.argv[2])
TIMEOUT = 60
PARENT = os.getpid()
pool = stealpool.ThreadPoolExecutor(max_workers=4)
executions = []
futures = []


def out(line):
    os.write(1, (line + "\\n").encode())  # no buffered-writer lock: safe in a forked child


def work(i):
    executions.append(i)
    return (i, os.getpid())


def submitter(k):
    for i in range(k, N, 3):
        futures.append((i, pool.submit(work, i)))
        if i % 600 < 3:
            time.sleep(0.0002)  # let the main thread in, so forks spread over the burst


def loop_submitter():
    async def main():
        stealpool.install()
        for start in range(2, N, 3 * 500):
            ids = range(start, min(N, start + 3 * 500), 3)
            results = await asyncio.gather(*(pool.run(work, i) if i % 2 else asyncio.to_thread(work, i) for i in ids))
            futures.extend((i, result) for i, result in zip(ids, results))
    asyncio.run(main())


def check_child_pool():
    # Only this thread exists here: nothing else can append to `executions`,
    # unless the child ran work queued by the parent.
    seen = len(executions)
    me = os.getpid()
    assert pool.submit(lambda: ("child", os.getpid())).result(timeout=TIMEOUT) == ("child", me)
    assert list(pool.map(abs, range(-40, 0), timeout=TIMEOUT)) == list(range(40, 0, -1))
    assert stealpool.shared_pool().submit(os.getpid).result(timeout=TIMEOUT) == me

    async def main():
        stealpool.install()
        ran = await asyncio.gather(*(asyncio.to_thread(abs, -i) for i in range(20)))
        ran += await asyncio.gather(*(pool.run(abs, -i) for i in range(20)))
        return ran

    assert asyncio.run(main()) == list(range(20)) * 2
    pool.shutdown(wait=True)
    assert len(executions) == seen, "the child ran {} of the parent's tasks".format(len(executions) - seen)


def start_burst():
    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(2)]
    threads.append(threading.Thread(target=loop_submitter))
    for thread in threads:
        thread.start()
    return threads


def wait_for_fork_point(f, threads):
    # Fork at spread-out points of the burst (or after it, on a fast machine).
    deadline = time.monotonic() + TIMEOUT
    while len(futures) < (f + 1) * N // (FORKS + 2) and any(t.is_alive() for t in threads):
        assert time.monotonic() < deadline, "the burst stalled"
        time.sleep(0.0005)


def check_parent(threads):
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a submitter never finished"
    assert len(futures) == N, len(futures)
    for i, future in futures:
        result = future.result(timeout=TIMEOUT) if isinstance(future, concurrent.futures.Future) else future
        assert result == (i, PARENT), (i, result)
    assert sorted(executions) == list(range(N)), "lost or repeated tasks in the parent"
    pool.shutdown(wait=True)
    out("parent ok")
"""


def assert_no_crash_reported(stderr: str) -> None:
    for marker in ("Fatal Python error", "panicked", "Exception ignored", "Traceback"):
        assert marker not in stderr, stderr[-3000:]


@needs_fork
def test_os_fork_during_a_burst(sizes, tally, run_python):
    code = (
        BURST
        + """
threads = start_burst()
children = []
for f in range(FORKS):
    wait_for_fork_point(f, threads)
    pid = os.fork()
    if pid == 0:
        try:
            check_child_pool()
        except BaseException:
            os.write(2, traceback.format_exc().encode())
            os._exit(1)
        os._exit(0)
    children.append(pid)

for pid in children:
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            out("child exit %d" % os.waitstatus_to_exitcode(status))
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            out("child hung")
            break
        time.sleep(0.005)

check_parent(threads)
"""
    )
    n = sizes.fork_burst_tasks
    result = run_python(code, timeout=240, flags=["-W", "ignore::DeprecationWarning"], argv=[str(n), str(sizes.forks)])
    tally.tasks(n)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines.count("child exit 0") == sizes.forks, result.stdout[-2000:] + result.stderr[-3000:]
    assert lines[-1] == "parent ok"
    assert_no_crash_reported(result.stderr)


@needs_fork
@needs_fork_context
def test_multiprocessing_fork_during_a_burst(sizes, tally, run_python):
    code = (
        BURST
        + """
import multiprocessing


def in_child(x):
    in_child_pid = os.getpid()
    assert in_child_pid != PARENT
    doubled = pool.submit(lambda: x * 2).result(timeout=TIMEOUT)
    mapped = list(pool.map(abs, [-x] * 5, timeout=TIMEOUT))
    return doubled, mapped, in_child_pid


def child_process(queue):
    try:
        check_child_pool()
        queue.put("ok")
    except BaseException:
        queue.put(traceback.format_exc())


if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    threads = start_burst()
    for f in range(FORKS):
        wait_for_fork_point(f, threads)
        if f % 2 == 0:
            with context.Pool(2) as processes:
                got = processes.map_async(in_child, range(8)).get(timeout=TIMEOUT)
            assert [(d, m) for d, m, _ in got] == [(x * 2, [x] * 5) for x in range(8)], got
            assert PARENT not in {pid for _, _, pid in got}
        else:
            queue = context.Queue()
            process = context.Process(target=child_process, args=(queue,))
            process.start()
            report = queue.get(timeout=TIMEOUT)
            process.join(TIMEOUT)
            if process.is_alive():
                process.kill()
                raise AssertionError("child process hung")
            assert report == "ok", report
            assert process.exitcode == 0, process.exitcode
        out("fork %d ok" % f)
    check_parent(threads)
"""
    )
    n = sizes.fork_burst_tasks
    forks = max(2, sizes.forks // 2)
    result = run_python(code, timeout=240, flags=["-W", "ignore::DeprecationWarning"], argv=[str(n), str(forks)])
    tally.tasks(n)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines == [f"fork {f} ok" for f in range(forks)] + ["parent ok"], result.stdout[-2000:]
    assert_no_crash_reported(result.stderr)
