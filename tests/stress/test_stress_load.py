"""Load: many tasks at once from 8 submitting threads and 4 event loops.

Every task id must execute exactly once and every future must carry that
task's result; done-callbacks fire exactly once; ``stats()`` adds up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

import stealpool

SUBMITTERS = 8
LOOPS = 4
BATCH = 1_000
CALLBACK_EVERY = 16  # one future in 16 gets a done-callback (its lock is made early)


def expected(i: int) -> int:
    return i * 3 + 1


def describe_mismatch(executions: Sequence[int], n: int) -> str:
    counts = Counter(executions)
    missing = [i for i in range(n) if counts[i] == 0]
    repeated = sorted(i for i, count in counts.items() if count > 1)
    strange = sorted(i for i in counts if not 0 <= i < n)
    return (
        f"{len(executions)} executions for {n} tasks; never ran: {len(missing)} (first {missing[:10]}); "
        f"ran more than once: {len(repeated)} (first {repeated[:10]}); unknown ids: {strange[:10]}"
    )


def test_mixed_load_from_threads_and_loops(sizes, tally, threads, loops, bounded, wait_until):
    n = sizes.load_tasks
    timeout = sizes.wait
    executions: list[int] = []
    record = executions.append  # list.append is atomic: one entry per execution
    callbacks: list[int] = []
    expected_callbacks: list[int] = []
    expected_callbacks_lock = threading.Lock()

    def work(i: int) -> int:
        record(i)
        return expected(i)

    pool = stealpool.ThreadPoolExecutor(max_workers=8, thread_name_prefix="load")
    shared = stealpool.shared_pool()
    shared_before = shared.stats()

    # Ids 0..n-1: 60% for the submitting threads, 40% for the loops.
    thread_part = n * 6 // 10
    per_thread = thread_part // SUBMITTERS
    thread_ranges = [range(k * per_thread, (k + 1) * per_thread) for k in range(SUBMITTERS)]
    thread_ranges[-1] = range(thread_ranges[-1].start, thread_part)
    per_loop = (n - thread_part) // LOOPS
    loop_ranges = [range(thread_part + j * per_loop, thread_part + (j + 1) * per_loop) for j in range(LOOPS)]
    loop_ranges[-1] = range(loop_ranges[-1].start, n)
    counts: dict[str, int] = {"pool": 0, "pool_run": 0, "shared": 0}
    counts_lock = threading.Lock()

    start = threading.Barrier(SUBMITTERS + LOOPS, timeout=timeout)

    def note(kind: str, count: int) -> None:
        with counts_lock:
            counts[kind] += count

    def check_futures(futures: list[concurrent.futures.Future], ids: Sequence[int]) -> None:
        _, not_done = concurrent.futures.wait(futures, timeout=timeout)
        assert not not_done, f"{len(not_done)} of {len(futures)} futures still pending after {timeout} s"
        results = [future.result(timeout=0) for future in futures]
        assert results == [expected(i) for i in ids]

    def submitter(ids: range) -> None:
        start.wait()
        previous: Any = None
        for offset in range(0, len(ids), BATCH):
            batch = ids[offset : offset + BATCH]
            if (offset // BATCH) % 3 == 2:
                # map: results in order, bounded by map's own timeout.
                assert list(pool.map(work, batch, timeout=timeout)) == [expected(i) for i in batch]
                note("pool", len(batch))
                continue
            futures = []
            for i in batch:
                future = pool.submit(work, i)
                if i % CALLBACK_EVERY == 0:
                    future.add_done_callback(lambda _, i=i: callbacks.append(i))
                    with expected_callbacks_lock:
                        expected_callbacks.append(i)
                futures.append(future)
            note("pool", len(batch))
            # Pipelined: wait for the previous batch while this one runs.
            if previous is not None:
                check_futures(*previous)
            previous = (futures, batch)
        if previous is not None:
            check_futures(*previous)

    def loop_thread(j: int, ids: range) -> None:
        kind = loops.kinds[j % len(loops.kinds)]

        async def main() -> None:
            loop = asyncio.get_running_loop()
            if j < 2:
                stealpool.install()
            start.wait()
            for offset in range(0, len(ids), BATCH):
                batch = ids[offset : offset + BATCH]
                awaitables: list[Any] = []
                for i in batch:
                    if j == 0:
                        awaitable: Any = asyncio.to_thread(work, i)
                    elif j == 1:
                        awaitable = loop.run_in_executor(None, work, i)
                    elif j == 2 or i % 2:
                        awaitable = pool.run(work, i)
                    else:
                        awaitable = asyncio.wrap_future(pool.submit(work, i))
                    if i % CALLBACK_EVERY == 0 and isinstance(awaitable, asyncio.Future):
                        awaitable.add_done_callback(lambda _, i=i: callbacks.append(i))
                        with expected_callbacks_lock:
                            expected_callbacks.append(i)
                    awaitables.append(awaitable)
                results = await asyncio.wait_for(asyncio.gather(*awaitables), timeout)
                assert results == [expected(i) for i in batch]
                if j < 2:
                    note("shared", len(batch))
                else:
                    note("pool", len(batch))
                    note("pool_run", len(batch) if j == 2 else len(batch) // 2)

        _, loop = loops.run(kind, main, timeout)
        assert loop.errors == []
        assert loop.leftover_tasks == 0

    for k, ids in enumerate(thread_ranges):
        threads.start(submitter, ids, name=f"submitter-{k}")
    for j, ids in enumerate(loop_ranges):
        threads.start(loop_thread, j, ids, name=f"loop-{j}")
    threads.join(timeout * 3)
    tally.tasks(n)

    assert len(executions) == n and sorted(executions) == list(range(n)), describe_mismatch(executions, n)
    assert counts["pool"] + counts["shared"] == n

    bounded.shutdown(pool, wait=True, timeout=timeout)
    # A worker runs a future's done-callbacks just after waking its waiters:
    # only once the workers are joined must every callback have fired.
    assert sorted(callbacks) == sorted(expected_callbacks), (
        f"done-callbacks: {len(callbacks)} fired, {len(expected_callbacks)} expected"
    )
    after = pool.stats()
    assert after["completed"] >= counts["pool"], after
    assert after["bridged"] >= counts["pool_run"], after
    assert after["queued"] == 0 and after["running"] == 0 and after["workers"] == 0, after
    assert after["panicked"] == 0, after
    assert 1 <= after["spawned"] <= 8 + after["retired"], after

    # The shared pool serves on: its counters catch up once the last worker
    # finished its bookkeeping.
    wait_until(
        lambda: shared.stats()["completed"] >= shared_before["completed"] + counts["shared"],
        timeout,
        "shared pool completed >= {} + {}: {}".format(shared_before["completed"], counts["shared"], shared.stats()),
    )
    assert shared.stats()["bridged"] >= shared_before["bridged"] + counts["shared"]


def test_map_from_many_threads_with_chunks_of_every_size(sizes, tally, threads, bounded):
    """Overlapping maps (the stdlib's submit-all-then-yield) keep results in order."""
    n = max(sizes.load_tasks // 10, 2_000)
    timeout = sizes.wait
    pool = stealpool.ThreadPoolExecutor(max_workers=4)

    def mapper(k: int) -> None:
        for size in (1, 7, 64, 999, n // 8):
            values = list(range(k * 100_000, k * 100_000 + size))
            assert list(pool.map(expected, values, timeout=timeout)) == [expected(v) for v in values]
            assert list(pool.map(pow, values, [2] * size, timeout=timeout)) == [v * v for v in values]

    for k in range(SUBMITTERS):
        threads.start(mapper, k, name=f"mapper-{k}")
    threads.join(timeout * 2)
    tally.tasks(SUBMITTERS * 2 * (1 + 7 + 64 + 999 + n // 8))
    bounded.shutdown(pool, timeout=timeout)
    stats = pool.stats()
    assert stats["completed"] == SUBMITTERS * 2 * (1 + 7 + 64 + 999 + n // 8), stats


GC_FINALIZERS = """
import gc, sys
import stealpool

gc.set_threshold(10)  # collect often: collections land inside attribute and dict work


class Garbage:
    def __init__(self):
        self.cycle = self

    def __del__(self):
        pass  # Python code run by the collector: the GIL may change hands here


def task(i):
    Garbage()
    return i


called = []
expected_calls = 0
orphaned = []
pool = stealpool.ThreadPoolExecutor(max_workers=2)
kept = []
for round_ in range(int(sys.argv[1])):
    futures = [pool.submit(task, i) for i in range(20)]
    for i, future in enumerate(futures):
        Garbage()
        if i % 4 == 1:
            future.add_done_callback(called.append)
            expected_calls += 1
        assert future.result(timeout=30) == i
        # result() waited on the future's condition: it must still be the future's.
        if "_condition" not in vars(future):
            orphaned.append((round_, i))
    kept.extend(futures)  # live futures keep the dict free list empty
    if len(kept) > 2000:
        kept.clear()
pool.shutdown(wait=True)  # joins the workers: every done-callback has run
print("lost callbacks:", expected_calls - len(called), flush=True)
print("orphaned conditions:", orphaned[:5], flush=True)
"""


def test_futures_consumed_while_the_collector_runs_finalizers(sizes, tally, run_python):
    """Workers resolve futures while the submitting thread waits on them and
    adds callbacks, with the cyclic GC running often and finalizers (Python
    code, where the GIL can change hands) inside collections.

    Guards against two threads building one future's instance dict at once:
    on CPython 3.11 that shared (then freed) the dict's values array, a
    segfault; on 3.9/3.10 one dict replaced the other, losing the waiter's
    condition (a wake-up lost until the timeout) and its done-callbacks.
    In a subprocess, so a crash fails this test instead of ending pytest.
    """
    rounds = sizes.gc_rounds
    result = run_python(GC_FINALIZERS, timeout=sizes.wait * 2, argv=[str(rounds)])
    tally.tasks(rounds * 20)
    assert result.returncode == 0, f"exit code {result.returncode}\n{result.stderr[-3000:]}"
    assert result.stdout.splitlines() == ["lost callbacks: 0", "orphaned conditions: []"], result.stdout
    assert result.stderr == "", result.stderr[-3000:]
