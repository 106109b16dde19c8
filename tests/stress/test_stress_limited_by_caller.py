"""Calls on the pool anyio's calls use (``limited_by_caller``) all reach a
final state while that pool grows past ``max_workers``, retires idle
threads, shuts down and breaks, with the switch interval at 1 µs.

The calls go through anyio's own ``to_thread.run_sync`` where anyio decides
(retirement), and straight to the core where the race needs a pool shut
down or broken under calls anyio would never make after that.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures.thread import BrokenThreadPool

import pytest
import stealpool

pytest.importorskip("anyio")
import anyio
import anyio.to_thread
from stealpool import _anyio


def noop(value: int) -> int:
    return value


def test_limited_calls_while_workers_retire(sizes, tally, preempt_everywhere):
    _anyio.activate()
    calls = sizes.race_tasks // 10

    async def main() -> tuple[list[int], dict[str, int]]:
        pool = stealpool.install(max_workers=1, idle_timeout=0)
        limiter = anyio.CapacityLimiter(8)
        results: list[int] = []

        async def one(value: int) -> None:
            results.append(await anyio.to_thread.run_sync(noop, value, limiter=limiter))

        async with anyio.create_task_group() as group:
            for value in range(calls):
                group.start_soon(one, value)
        return results, pool.stats()

    results, stats = anyio.run(main, backend="asyncio")
    tally.tasks(calls)
    assert sorted(results) == list(range(calls))
    assert stats["bridged"] == calls


def submit_limited(loop, pool, count, accepted, halfway):
    try:
        for value in range(count):
            if value == count // 2:
                halfway.set()
            accepted.append(pool._core.run(loop, noop, (value,), copy_context=False, limited_by_caller=True))
    except (RuntimeError, BrokenThreadPool):
        pass  # refused: the pool ended
    finally:
        halfway.set()


@pytest.mark.parametrize("ending", ["shutdown", "broken"])
def test_limited_calls_racing_shutdown_or_a_broken_pool(sizes, tally, preempt_everywhere, ending):
    # Each broken pool logs "Exception in initializer:" at CRITICAL.
    logging.getLogger("concurrent.futures").disabled = True
    try:
        race_limited_calls(sizes, tally, ending)
    finally:
        logging.getLogger("concurrent.futures").disabled = False


def race_limited_calls(sizes, tally, ending):
    def failing_initializer() -> None:
        raise ValueError("initializer fails")

    per_round = 100
    total = 0
    for _ in range(sizes.race_tasks // 6 // per_round):
        loop = asyncio.new_event_loop()
        initializer = failing_initializer if ending == "broken" else None
        pool = stealpool.ThreadPoolExecutor(max_workers=1, initializer=initializer)
        accepted: list[asyncio.Future[int]] = []
        halfway = threading.Event()

        def end_halfway() -> None:
            halfway.wait(sizes.wait)
            if ending == "shutdown":
                pool.shutdown(wait=False)

        # This thread submits as the loop's; another ends the pool meanwhile
        # (a broken pool ends itself, in its first worker).
        ender = threading.Thread(target=end_halfway)
        ender.start()
        submit_limited(loop, pool, per_round, accepted, halfway)
        ender.join(sizes.wait)
        assert not ender.is_alive()
        pool.shutdown(wait=True)

        async def outcomes() -> list[object]:
            _, pending = await asyncio.wait(accepted, timeout=sizes.wait)
            assert not pending, f"{len(pending)} accepted calls never resolved"
            return [future.exception() or future.result() for future in accepted]

        try:
            results = loop.run_until_complete(outcomes())
        finally:
            loop.close()
        total += len(accepted)
        if ending == "shutdown":
            assert all(isinstance(result, int) for result in results)
        else:
            assert all(isinstance(result, (int, BrokenThreadPool)) for result in results)
    tally.tasks(total)
