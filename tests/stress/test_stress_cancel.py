"""Cancellation storms: asyncio tasks awaiting ``pool.run`` / ``asyncio.to_thread``
and ``concurrent.futures`` futures, cancelled in bulk at random moments.

The strict property, "a call cancelled before it started never runs", is
checked where the order is known: every worker is held on an Event while
the calls queue up behind it, half of them are cancelled, then the workers
are released; after the pool has processed its whole queue (a bounded
``shutdown(wait=True)``) none of the cancelled calls may have started. The
free-running storm cancels at random times and checks everything that holds
whatever the interleaving: each call runs at most once, each task ends
cancelled or with its own result, nothing stays pending, nothing is logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import random
import threading
import time
from typing import Any

import pytest
import stealpool

WORKERS = 4


def expected(i: int) -> int:
    return i * 7 + 3


def warnings_logged(caplog: Any) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


class Gate:
    """Holds every worker of a pool until released."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def hold(self) -> str:
        self.entered.release()
        # Bounded: a bug that never releases shows as a failure, not a hang.
        assert self.release.wait(self.timeout), "gate never released"
        return "held"

    def wait_all_held(self, count: int) -> None:
        for _ in range(count):
            assert self.entered.acquire(timeout=self.timeout), "workers never all reached the gate"


@pytest.mark.parametrize("path", ["pool.run", "asyncio.to_thread"])
def test_cancelled_before_start_never_runs(sizes, tally, loops, loop_kind, bounded, caplog, path):
    caplog.set_level(logging.WARNING)
    timeout = sizes.wait
    rng = random.Random(0x5EED + sizes.cancel_tasks)
    for round_ in range(sizes.cancel_rounds):
        m = sizes.cancel_tasks
        started: list[int] = []
        gate = Gate(timeout)
        pools: list[stealpool.ThreadPoolExecutor] = []

        def call(i: int) -> int:
            started.append(i)
            return expected(i)

        async def main() -> dict[str, Any]:
            loop = asyncio.get_running_loop()
            if path == "pool.run":
                pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="cancel")
                pools.append(pool)

                def submit(fn: Any, *args: Any) -> Any:
                    return pool.run(fn, *args)
            else:
                pools.append(stealpool.install(max_workers=WORKERS, thread_name_prefix="cancel"))

                def submit(fn: Any, *args: Any) -> Any:
                    return asyncio.to_thread(fn, *args)

            blockers = [asyncio.ensure_future(submit(gate.hold)) for _ in range(WORKERS)]
            await asyncio.sleep(0)  # to_thread's coroutines submit on their first step
            gate.wait_all_held(WORKERS)  # every worker is now inside gate.hold
            awaited: dict[int, asyncio.Future] = {}
            waiting: set[int] = set()

            async def one(i: int) -> int:
                # Nothing yields between here and the await below, so once
                # `waiting` holds i the call is queued and awaited.
                waiting.add(i)
                if path == "pool.run":
                    future = submit(call, i)
                    awaited[i] = future
                    return await future
                return await submit(call, i)

            tasks = {i: loop.create_task(one(i)) for i in range(m)}
            for _ in range(100):
                await asyncio.sleep(0)
                if len(waiting) == m:
                    break
            assert len(waiting) == m, "tasks never reached their await"

            # Cancel a random half, at random moments (loop iterations in between),
            # some through the task, some through the future it awaits.
            cancelled_before = rng.sample(range(m), m // 2)
            for i in cancelled_before:
                if path == "pool.run" and i % 3 == 0:
                    assert awaited[i].cancel()
                else:
                    assert tasks[i].cancel()
                if rng.random() < 0.1:
                    await asyncio.sleep(0)
            gate.release.set()

            # After release, cancel some of the rest at random moments too:
            # those may or may not have run; they must end cancelled or with their result.
            rest = sorted(set(range(m)) - set(cancelled_before))
            late_cancels: dict[int, bool] = {}

            def cancel_late(i: int) -> None:
                late_cancels[i] = tasks[i].cancel()

            for i in rng.sample(rest, len(rest) // 4):
                loop.call_later(rng.uniform(0, 0.002), cancel_late, i)

            done, pending = await asyncio.wait(list(tasks.values()) + blockers, timeout=timeout)
            assert not pending, f"{len(pending)} tasks still pending"
            await asyncio.sleep(0.005)  # let the late cancel callbacks fire (no-ops by now)
            assert [b.result() for b in blockers] == ["held"] * WORKERS
            return {"tasks": tasks, "cancelled_before": cancelled_before, "late": late_cancels, "awaited": awaited}

        outcome, loop = loops.run(loop_kind, main, timeout)
        pool = pools[0]
        # The whole queue is processed once the workers are joined.
        bounded.shutdown(pool, wait=True, timeout=timeout)
        tally.tasks(m + WORKERS)

        cancelled_before: set[int] = set(outcome["cancelled_before"])
        ran_after_cancel = sorted(cancelled_before.intersection(started))
        assert ran_after_cancel == [], f"round {round_}: cancelled while queued, yet ran: {ran_after_cancel[:20]}"
        assert len(started) == len(set(started)), "some call ran twice"
        tasks = outcome["tasks"]
        for i, task in tasks.items():
            assert task.done()
            if i in cancelled_before:
                assert task.cancelled(), i
            elif task.cancelled():
                assert outcome["late"].get(i), f"task {i} cancelled, but nobody cancelled it"
            else:
                assert task.result() == expected(i)
                assert i in started
        assert all(future.done() for future in outcome["awaited"].values())
        uncancelled = [i for i, task in tasks.items() if not task.cancelled()]
        assert set(uncancelled) <= set(started)

        stats = pool.stats()
        assert stats["queued"] == 0 and stats["running"] == 0, stats
        assert WORKERS + len(started) <= stats["completed"] <= WORKERS + m, stats

        del outcome, tasks, task
        gc.collect()
        assert loop.errors == [], loop.errors[:3]
        assert loop.leftover_tasks == 0
    assert warnings_logged(caplog) == []


def test_cancelled_queued_futures_never_run(sizes, tally, threads, bounded):
    """``Future.cancel()`` from several threads on queued ``submit`` futures."""
    timeout = sizes.wait
    for round_ in range(sizes.cancel_rounds):
        m = sizes.cancel_tasks
        pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS)
        gate = Gate(timeout)
        blockers = [pool.submit(gate.hold) for _ in range(WORKERS)]
        gate.wait_all_held(WORKERS)
        started: list[int] = []
        callbacks: list[int] = []
        lock = threading.Lock()
        futures: dict[int, concurrent.futures.Future] = {}
        cancelled: set[int] = set()

        def call(i: int) -> int:
            started.append(i)
            return expected(i)

        def submitter(k: int) -> None:
            rng = random.Random(round_ * 100 + k)
            mine = {}
            for i in range(k, m, 4):
                future = pool.submit(call, i)
                future.add_done_callback(lambda _, i=i: callbacks.append(i))
                mine[i] = future
            to_cancel = rng.sample(sorted(mine), len(mine) // 2)
            for i in to_cancel:
                assert mine[i].cancel(), "a queued future refused cancel()"
            with lock:
                futures.update(mine)
                cancelled.update(to_cancel)

        for k in range(4):
            threads.start(submitter, k, name=f"submit-cancel-{k}")
        threads.join(timeout)
        gate.release.set()
        _, not_done = concurrent.futures.wait(list(futures.values()) + blockers, timeout=timeout)
        assert not not_done
        bounded.shutdown(pool, timeout=timeout)
        tally.tasks(m + WORKERS)

        assert sorted(cancelled.intersection(started)) == []
        assert sorted(started) == sorted(set(range(m)) - cancelled)
        assert sorted(callbacks) == list(range(m)), "each done-callback fires once"
        for i, future in futures.items():
            if i in cancelled:
                assert future.cancelled()
            else:
                assert future.result(timeout=0) == expected(i)
        stats = pool.stats()
        assert stats["queued"] == 0 and stats["running"] == 0, stats


def test_free_running_cancellation_storm(sizes, tally, loops, loop_kind, bounded, caplog):
    """Cancels at random times while calls queue, run and finish."""
    caplog.set_level(logging.WARNING)
    timeout = sizes.wait
    m = sizes.storm_tasks
    rng = random.Random(1234)
    starts: list[int] = []
    pools: list[stealpool.ThreadPoolExecutor] = []

    def call(i: int, pause: float) -> int:
        starts.append(i)
        if pause:
            time.sleep(pause)
        return expected(i)

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS)
        pools.append(pool)
        cancel_results: dict[int, bool] = {}
        futures: list[asyncio.Future] = []

        async def one(i: int) -> int:
            future = pool.run(call, i, rng.choice((0, 0, 0, 0.0002, 0.001)))
            futures.append(future)
            return await future

        def cancel(i: int) -> None:
            cancel_results[i] = tasks[i].cancel()

        tasks: dict[int, asyncio.Task] = {}
        for i in range(m):
            tasks[i] = loop.create_task(one(i))
            if rng.random() < 0.5:
                loop.call_later(rng.uniform(0, 0.05), cancel, i)
            if i % 97 == 0:
                await asyncio.sleep(rng.uniform(0, 0.002))
        done, pending = await asyncio.wait(list(tasks.values()), timeout=timeout)
        assert not pending
        await asyncio.sleep(0.06)  # every call_later has fired
        return tasks, cancel_results, futures

    (tasks, cancel_results, futures), loop = loops.run(loop_kind, main, timeout)
    pool = pools[0]
    bounded.shutdown(pool, timeout=timeout)
    tally.tasks(m)

    assert len(starts) == len(set(starts)), "a call ran twice"
    for i, task in tasks.items():
        assert task.done()
        if task.cancelled():
            assert cancel_results.get(i), f"task {i} cancelled though no cancel succeeded"
        else:
            assert task.result() == expected(i)
            assert i in starts
            assert not cancel_results.get(i), f"task {i}: cancel() returned True, yet it finished"
    assert all(future.done() for future in futures)
    stats = pool.stats()
    assert stats["queued"] == 0 and stats["running"] == 0, stats
    assert len(starts) <= stats["completed"] <= m, stats
    del tasks, futures, task
    gc.collect()
    assert loop.errors == [], loop.errors[:3]
    assert loop.leftover_tasks == 0
    assert warnings_logged(caplog) == []
