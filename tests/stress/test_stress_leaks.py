"""Leaks: memory and objects stay flat over many tasks; functions, arguments,
results and exceptions are released once their futures are dropped; worker
threads leave no entries behind in ``threading`` across many pools.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import threading
import time
import weakref
from typing import Any, Callable

import stealpool
from rss import rss_bytes

MB = 1 << 20


class Payload:
    """An argument or a result: weakref-able, tracked by gc, ~1 KiB."""

    __slots__ = ("data", "__weakref__")

    def __init__(self, data: bytes) -> None:
        self.data = data


class Boom(Exception):
    pass


async def run_and_run_in_executor(pool: Any, fn: Any, arg: Payload, refs: list[weakref.ref], timeout: float) -> None:
    """``pool.run(fn, arg)`` and ``run_in_executor(None, fn, arg)`` on an installed pool."""
    stealpool.install(max_workers=2)
    loop = asyncio.get_running_loop()
    for future in (pool.run(fn, arg), loop.run_in_executor(None, fn, arg)):
        await asyncio.wait([future], timeout=timeout)
        outcome = future.exception() or future.result()
        refs.append(weakref.ref(outcome))


async def cancel_while_queued(pool: Any, fn: Any, arg: Payload, timeout: float) -> None:
    """An asyncio task awaiting ``pool.run(fn, arg)``, cancelled while the call is queued."""

    async def call() -> Any:
        return await pool.run(fn, arg)

    task = asyncio.ensure_future(call())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait([task], timeout=timeout)
    assert task.cancelled()


def test_rss_and_object_counts_stay_flat(sizes, tally, loops, bounded):
    """Rounds of submit / map / pool.run with ~1 KiB arguments, results and
    exceptions; RSS and gc-tracked objects after the last round match the
    warm-up round (a leak of any per-task object would be ~1 KiB * tasks)."""
    timeout = sizes.wait
    per_round = sizes.leak_tasks // sizes.leak_rounds
    pool = stealpool.ThreadPoolExecutor(max_workers=4)
    blob = b"x" * 1000

    def task(arg: Payload, i: int) -> Payload:
        if i % 10 == 0:
            raise Boom(arg.data + b"!")
        return Payload(arg.data + b"?")

    def check(outcome: Any, i: int) -> None:
        if i % 10 == 0:
            assert type(outcome) is Boom
        else:
            assert len(outcome.data) == 1001

    def one_round() -> None:
        submits = per_round // 2
        maps = per_round // 4
        runs = per_round - submits - maps
        batch = 5_000
        for start in range(0, submits, batch):
            futures = [pool.submit(task, Payload(blob), i) for i in range(start, min(submits, start + batch))]
            for i, future in enumerate(futures, start):
                check(future.exception(timeout=timeout) or future.result(timeout=0), i)
            del futures, future
        for start in range(0, maps, batch):
            ids = [i for i in range(start, min(maps, start + batch)) if i % 10]
            for result in pool.map(task, [Payload(blob) for _ in ids], ids, timeout=timeout):
                assert len(result.data) == 1001

        async def main() -> None:
            for start in range(0, runs, batch):
                ids = range(start, min(runs, start + batch))
                outcomes = await asyncio.gather(
                    *(pool.run(task, Payload(blob), i) for i in ids), return_exceptions=True
                )
                for i, outcome in zip(ids, outcomes):
                    check(outcome, i)

        _, loop = loops.run("asyncio", main, timeout)
        assert loop.errors == []

    rss: list[int | None] = []
    objects: list[int] = []
    for round_ in range(sizes.leak_rounds):
        one_round()
        gc.collect()
        rss.append(rss_bytes())
        objects.append(len(gc.get_objects()))
    tally.tasks(per_round * sizes.leak_rounds)
    bounded.shutdown(pool, timeout=timeout)

    warm = 1 if sizes.leak_rounds > 2 else 0  # round 0 warms caches and arenas up
    object_growth = objects[-1] - objects[warm]
    tally.note(
        "leaks: {:,} tasks in {} rounds; gc objects {:,} -> {:,}; RSS per round (MiB): {}".format(
            per_round * sizes.leak_rounds,
            sizes.leak_rounds,
            objects[warm],
            objects[-1],
            " ".join("?" if r is None else f"{r / MB:.1f}" for r in rss),
        )
    )
    assert object_growth < 20_000, f"gc objects: {objects[warm]} after warm-up, {objects[-1]} at the end: {objects}"
    # RSS is checked where /proc/self/statm exists; the object counts above everywhere.
    if rss[warm] is not None:
        growth = rss[-1] - rss[warm]
        assert growth < 20 * MB, "RSS grew {:.1f} MiB from the warm-up round to the last: {}".format(
            growth / MB, [f"{r / MB:.0f}" for r in rss]
        )


def test_functions_arguments_results_and_exceptions_are_released(sizes, tally, loops, bounded, wait_until):
    """Weak references to everything a task touched die once its future is dropped.

    The worker may drop its own references a moment after it resolved the
    future, so each check waits (bounded) for the references to die.
    """
    timeout = sizes.wait

    def make_call(fail: bool) -> tuple[Callable[[Payload], Payload], Payload, list[weakref.ref]]:
        arg = Payload(b"argument")

        def fn(a: Payload) -> Payload:
            if fail:
                raise Boom(a)
            return Payload(a.data + b" result")

        return fn, arg, [weakref.ref(fn), weakref.ref(arg)]

    def all_released(refs: list[weakref.ref], what: str) -> None:
        def dead() -> bool:
            gc.collect()
            return all(ref() is None for ref in refs)

        wait_until(
            dead,
            timeout,
            lambda: (
                "still referenced after the future was dropped: "
                f"{[ref() for ref in refs if ref() is not None][:3]} ({what})"
            ),
            interval=0.01,
        )

    blocker_started = threading.Semaphore(0)

    def hold(release: threading.Event, timeout: float) -> bool:
        blocker_started.release()
        return release.wait(timeout)

    pool = stealpool.ThreadPoolExecutor(max_workers=4)
    released = 0
    for round_ in range(sizes.weakref_rounds):
        for fail in (False, True):
            # submit
            fn, arg, refs = make_call(fail)
            future = pool.submit(fn, arg)
            del fn, arg
            outcome = future.exception(timeout=timeout) or future.result(timeout=0)
            refs.append(weakref.ref(outcome))
            del outcome, future
            all_released(refs, f"submit fail={fail}")

            # map (results only: map re-raises the first exception)
            if not fail:
                fn, arg, refs = make_call(fail)
                results = list(pool.map(fn, [arg], timeout=timeout))
                refs.append(weakref.ref(results[0]))
                del fn, arg, results
                all_released(refs, "map")

            # pool.run and run_in_executor through install()
            fn, arg, refs = make_call(fail)
            main = functools.partial(run_and_run_in_executor, pool, fn, arg, refs, timeout)
            del fn, arg
            _, loop = loops.run("asyncio", main, timeout)
            assert loop.errors == []
            del main, loop
            all_released(refs, f"pool.run / run_in_executor fail={fail}")
            released += 4

        # Cancelled while queued: the pool lets go of the call once it skips it,
        # or once shutdown(cancel_futures=True) drains it.
        for how in ("cancel()", "shutdown(cancel_futures=True)"):
            blocked = stealpool.ThreadPoolExecutor(max_workers=1)
            release = threading.Event()
            blocker = blocked.submit(hold, release, timeout)
            assert blocker_started.acquire(timeout=timeout)
            fn, arg, refs = make_call(False)
            future = blocked.submit(fn, arg)
            del fn, arg
            if how == "cancel()":
                assert future.cancel()
                release.set()
                bounded.shutdown(blocked, timeout=timeout)
            else:
                blocked.shutdown(wait=False, cancel_futures=True)
                release.set()
                bounded.shutdown(blocked, timeout=timeout)
            assert future.cancelled()
            assert blocker.result(timeout=timeout) is True
            del future
            all_released(refs, how)
            released += 1

        # An asyncio task cancelled while its pool.run call is queued.
        blocked = stealpool.ThreadPoolExecutor(max_workers=1)
        release = threading.Event()
        blocker = blocked.submit(hold, release, timeout)
        assert blocker_started.acquire(timeout=timeout)
        fn, arg, refs = make_call(False)
        main = functools.partial(cancel_while_queued, blocked, fn, arg, timeout)
        del fn, arg
        _, loop = loops.run("asyncio", main, timeout)
        assert loop.errors == []
        del main, loop
        release.set()
        bounded.shutdown(blocked, timeout=timeout)
        assert blocker.result(timeout=0) is True
        all_released(refs, "pool.run cancelled while queued")
        released += 1
    bounded.shutdown(pool, timeout=timeout)
    tally.tasks(released)


def dummy_threads() -> tuple[int, int]:
    """(_DummyThread entries in threading._active, live _DummyThread objects)."""
    gc.collect()
    active = sum(isinstance(t, threading._DummyThread) for t in list(threading._active.values()))  # type: ignore[attr-defined]
    alive = sum(isinstance(o, threading._DummyThread) for o in gc.get_objects())  # type: ignore[attr-defined]
    return active, alive


def test_threading_bookkeeping_does_not_grow_across_pools(sizes, tally, loops, bounded, wait_until):
    timeout = sizes.wait
    gc.collect()
    base_active = len(threading._active)  # type: ignore[attr-defined]
    base_dummy_entries, base_dummies = dummy_threads()
    tasks = 0
    for cycle in range(sizes.pool_cycles):
        how = cycle % 5
        pool = stealpool.ThreadPoolExecutor(max_workers=4, idle_timeout=0.001 if how == 3 else 10.0)
        futures = [pool.submit(time.sleep, 0.0005) for _ in range(8)]
        names = pool.submit(lambda: threading.current_thread().name).result(timeout=timeout)
        assert names.startswith(pool._thread_name_prefix)
        tasks += 9
        if how == 0:
            bounded.shutdown(pool, wait=True, timeout=timeout)
        elif how == 1:
            pool.shutdown(wait=False)
        elif how == 2:
            for future in futures:
                future.result(timeout=timeout)
            del pool  # dropped without shutdown: its workers wind down on their own
        elif how == 3:
            for future in futures:
                future.result(timeout=timeout)
            wait_until(lambda: pool.stats()["workers"] == 0, timeout, "idle workers never retired")
            bounded.shutdown(pool, timeout=timeout)
        else:

            async def main() -> None:
                stealpool.install(max_workers=3)
                await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.0005) for _ in range(6)))

            _, loop = loops.run("asyncio", main, timeout)
            assert loop.errors == []
            bounded.shutdown(pool, timeout=timeout)
            tasks += 6
    tally.tasks(tasks)

    def settled() -> bool:
        gc.collect()
        return len(threading._active) <= base_active  # type: ignore[attr-defined]

    def growth() -> str:
        names = sorted(t.name for t in threading._active.values())  # type: ignore[attr-defined]
        return f"threading._active grew: {base_active} -> {len(names)}: {names[:20]}"

    wait_until(settled, timeout, growth, interval=0.02)
    entries, dummies = dummy_threads()
    assert entries <= base_dummy_entries, (base_dummy_entries, entries)
    assert dummies <= base_dummies, f"_DummyThread objects: {base_dummies} before, {dummies} after"
    assert len(threading.enumerate()) <= base_active
