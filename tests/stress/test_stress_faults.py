"""Faults: Rust panics, SystemExit, KeyboardInterrupt and custom BaseException
subclasses raised by tasks, huge results, and tasks that hog the GIL.

Each exception must land on its own task's future (checked by an id carried
in the exception), the pool must stay usable, and no worker may die: with
``idle_timeout=None`` the pool never starts more threads than ``max_workers``
unless one was lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
import time
from typing import Any

import pytest
import stealpool
from stealpool import _core

WORKERS = 4
MB = 1 << 20


class CustomBase(BaseException):
    """A BaseException that is neither SystemExit nor KeyboardInterrupt."""


class CustomError(LookupError):
    pass


KINDS = ["ok", "panic", "SystemExit", "KeyboardInterrupt", "CustomBase", "CustomError", "GeneratorExit"]
RAISED = {
    "SystemExit": SystemExit,
    "KeyboardInterrupt": KeyboardInterrupt,
    "CustomBase": CustomBase,
    "CustomError": CustomError,
    "GeneratorExit": GeneratorExit,
}


def faulty(i: int, kind: str) -> tuple[str, int]:
    if kind == "ok":
        return ("ok", i)
    if kind == "panic":
        _core.panic_for_tests(f"boom {i}")
        return ("panic returned", i)
    raise RAISED[kind](i)


def problem_with(i: int, kind: str, outcome: Any) -> Any:
    """None when ``outcome`` (a value or an exception) is right for task ``i``."""
    if kind == "ok":
        return None if outcome == ("ok", i) else outcome
    if kind == "panic":
        ok = isinstance(outcome, stealpool.PanicException) and str(outcome) == f"boom {i}"
        return None if ok else outcome
    ok = type(outcome) is RAISED[kind] and outcome.args == (i,)
    return None if ok else outcome


def check_workers_survived(pool: stealpool.ThreadPoolExecutor) -> None:
    stats = pool.stats()
    assert stats["retired"] == 0, stats
    assert stats["spawned"] <= WORKERS, f"workers were lost and replaced: {stats}"
    assert stats["workers"] == stats["spawned"], stats


@pytest.mark.needs_test_helpers
def test_exceptions_and_panics_land_on_their_own_futures(sizes, tally, threads, loops, bounded):
    timeout = sizes.wait
    m = sizes.fault_tasks
    pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS, idle_timeout=None)
    rng = random.Random(7)
    kinds = [rng.choice(KINDS) for _ in range(m)]
    problems: list[Any] = []
    lock = threading.Lock()

    def submitter(k: int) -> None:
        futures = [(i, pool.submit(faulty, i, kinds[i])) for i in range(k, m, 3)]
        _, not_done = concurrent.futures.wait([f for _, f in futures], timeout=timeout)
        assert not not_done
        for i, future in futures:
            outcome = future.exception(timeout=0) or future.result(timeout=0)
            problem = problem_with(i, kinds[i], outcome)
            if problem is not None:
                with lock:
                    problems.append(("submit", i, kinds[i], problem))

    def loop_user() -> None:
        async def main() -> None:
            own = stealpool.install(max_workers=2, idle_timeout=None)
            loop = asyncio.get_running_loop()
            ids = range(2, m, 3)
            futures: dict[int, Any] = {}
            for i in ids:
                # Half through pool.run, half through the loop's installed pool.
                futures[i] = pool.run(faulty, i, kinds[i]) if i % 2 else loop.run_in_executor(None, faulty, i, kinds[i])
            # asyncio.wait, not gather: an awaited SystemExit/KeyboardInterrupt
            # would (by asyncio's design) stop the loop itself.
            done, pending = await asyncio.wait(list(futures.values()), timeout=timeout)
            assert not pending
            for i, future in futures.items():
                outcome = future.exception() or future.result()
                problem = problem_with(i, kinds[i], outcome)
                if problem is not None:
                    problems.append(("asyncio", i, kinds[i], problem))
            assert own.stats()["spawned"] <= 2

        _, loop = loops.run("asyncio", main, timeout)
        assert loop.errors == []

    for k in range(2):
        threads.start(submitter, k, name=f"fault-submitter-{k}")
    threads.start(loop_user, name="fault-loop")
    threads.join(timeout * 2)
    tally.tasks(m)
    assert problems == [], problems[:10]

    # Still usable, with the same workers.
    assert list(pool.map(faulty, range(100), ["ok"] * 100, timeout=timeout)) == [("ok", i) for i in range(100)]
    check_workers_survived(pool)
    bounded.shutdown(pool, timeout=timeout)


def test_huge_results(sizes, tally, loops, bounded):
    """50 MB results, two in flight at a time, each reaching its own future intact."""
    timeout = sizes.wait
    pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS, idle_timeout=None)
    size = 50 * MB

    def huge(i: int) -> bytes:
        return i.to_bytes(4, "little") + bytes(size)

    for start in range(0, sizes.huge_results, 2):
        futures = {i: pool.submit(huge, i) for i in range(start, min(start + 2, sizes.huge_results))}
        for i, future in futures.items():
            data = future.result(timeout=timeout)
            assert len(data) == size + 4 and data[:4] == i.to_bytes(4, "little")
            del data
        del futures, future

    async def main() -> None:
        data = await pool.run(huge, 99)
        assert len(data) == size + 4 and data[:4] == (99).to_bytes(4, "little")

    _, loop = loops.run("asyncio", main, timeout)
    assert loop.errors == []
    assert pool.submit(faulty, 1, "ok").result(timeout=timeout) == ("ok", 1)
    check_workers_survived(pool)
    bounded.shutdown(pool, timeout=timeout)
    tally.tasks(sizes.huge_results + 2)


def test_gil_hogs_do_not_wedge_the_pool(sizes, tally, loops, bounded):
    """Pure-Python busy loops of ~0.2 s on most workers while small work keeps flowing."""
    timeout = sizes.wait
    pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS, idle_timeout=None)

    def hog(i: int) -> tuple[int, int]:
        spins = 0
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:
            spins += 1
        return i, spins

    def mixed(i: int) -> Any:
        if i % 3 == 0:
            return faulty(i, "CustomError")
        return faulty(i, "ok")

    hogs = [pool.submit(hog, i) for i in range(sizes.gil_hogs)]
    small = [pool.submit(mixed, i) for i in range(2_000)]

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(pool.run(hog, i) for i in range(2)), *(pool.run(faulty, i, "ok") for i in range(500))
        )

    results, loop = loops.run("asyncio", main, timeout)
    assert loop.errors == []
    assert [i for i, spins in results[:2]] == [0, 1] and all(spins > 0 for _, spins in results[:2])
    assert results[2:] == [("ok", i) for i in range(500)]
    for i, future in enumerate(hogs):
        index, spins = future.result(timeout=timeout)
        assert index == i and spins > 0
    for i, future in enumerate(small):
        if i % 3 == 0:
            error = future.exception(timeout=timeout)
            assert type(error) is CustomError and error.args == (i,)
        else:
            assert future.result(timeout=timeout) == ("ok", i)
    check_workers_survived(pool)
    bounded.shutdown(pool, timeout=timeout)
    tally.tasks(sizes.gil_hogs + 2_000 + 502)
