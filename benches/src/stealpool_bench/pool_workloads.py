"""Workloads on the executor directly, from plain synchronous code.

submit        N ``submit(noop)`` then ``concurrent.futures.wait``.
map           ``list(pool.map(noop, range(N)))``.
sleep_fanout  1000 x ``time.sleep(0.005)`` on 64 workers, against the ideal
              of every worker sleeping back to back (1000/64 x 5 ms).
gil_stall     the longest another Python thread waits for the GIL while
              the pool runs a queue of C-function tasks (no bytecode, so
              no switch check of the interpreter's own between them).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .peers import SYNC_POOLS, noop
from .results import LOWER_IS_BETTER, Row, make_row

SLEEP_WORKERS = 64
SLEEP_SECONDS = 0.005

Executor = concurrent.futures.ThreadPoolExecutor
Sample = Callable[[Executor], float]


@contextlib.contextmanager
def open_pools(max_workers: int | None = None) -> Iterator[dict[str, Executor]]:
    """One pool per sync peer, alive for a whole workload so rounds reuse warm threads."""
    pools: dict[str, Executor] = {}
    try:
        for name, factory in SYNC_POOLS.items():
            pools[name] = factory(max_workers=max_workers)
        yield pools
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True)


def wait_all(futures: list[concurrent.futures.Future[Any]], what: str) -> None:
    _, not_done = concurrent.futures.wait(futures, timeout=SAMPLE_TIMEOUT_S)
    if not_done:
        raise BenchHang(f"{what}: {len(not_done)} of {len(futures)} tasks unfinished after {SAMPLE_TIMEOUT_S:.0f}s")


def submit_sample(tasks: int) -> Sample:
    def sample(pool: Executor) -> float:
        started = time.perf_counter()
        futures = [pool.submit(noop) for _ in range(tasks)]
        wait_all(futures, f"submit on {type(pool).__module__}")
        return time.perf_counter() - started

    return sample


def map_sample(tasks: int) -> Sample:
    def sample(pool: Executor) -> float:
        started = time.perf_counter()
        list(pool.map(noop, range(tasks), timeout=SAMPLE_TIMEOUT_S))
        return time.perf_counter() - started

    return sample


def sleep_sample(tasks: int) -> Sample:
    def sample(pool: Executor) -> float:
        started = time.perf_counter()
        futures = [pool.submit(time.sleep, SLEEP_SECONDS) for _ in range(tasks)]
        wait_all(futures, f"sleep_fanout on {type(pool).__module__}")
        return time.perf_counter() - started

    return sample


def alternate_pools(
    ctx: BenchContext, label: str, sample: Sample, max_workers: int | None = None
) -> dict[str, list[float]]:
    with open_pools(max_workers) as pools:
        contenders = {name: functools.partial(sample, pool) for name, pool in pools.items()}
        return ctx.alternate(label, contenders)


def run_submit(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.pool_tasks
    samples = alternate_pools(ctx, "submit", submit_sample(tasks))
    per_task = {name: [seconds / tasks * 1e6 for seconds in values] for name, values in samples.items()}
    return [make_row("submit", "", "us/task", LOWER_IS_BETTER, per_task, params={"tasks": tasks})]


def run_map(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.pool_tasks
    samples = alternate_pools(ctx, "map", map_sample(tasks))
    per_task = {name: [seconds / tasks * 1e6 for seconds in values] for name, values in samples.items()}
    return [make_row("map", "", "us/task", LOWER_IS_BETTER, per_task, params={"tasks": tasks})]


def ideal_sleep_seconds(tasks: int, workers: int = SLEEP_WORKERS, seconds: float = SLEEP_SECONDS) -> float:
    """Every worker busy sleeping from start to end, nothing else."""
    return tasks / workers * seconds


def run_sleep_fanout(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.sleep_tasks
    ideal = ideal_sleep_seconds(tasks)
    samples = alternate_pools(ctx, "sleep_fanout", sleep_sample(tasks), max_workers=SLEEP_WORKERS)
    of_ideal = {name: [seconds / ideal for seconds in values] for name, values in samples.items()}
    return [
        make_row(
            "sleep_fanout",
            f"{SLEEP_WORKERS} workers",
            "x ideal",
            LOWER_IS_BETTER,
            of_ideal,
            params={"tasks": tasks, "workers": SLEEP_WORKERS, "sleep_s": SLEEP_SECONDS, "ideal_s": ideal},
            note=f"ideal = {tasks}/{SLEEP_WORKERS} x {SLEEP_SECONDS * 1e3:.0f} ms = {ideal * 1e3:.1f} ms; "
            "1.0 is perfect",
        )
    ]


def worst_gil_stall(pool: Executor, tasks: int) -> float:
    """Queues ``tasks`` C calls, then times the longest gap a ticking thread
    sees while the pool runs them (the submitting thread only waits)."""
    release = threading.Event()
    gate = pool.submit(release.wait, SAMPLE_TIMEOUT_S)
    futures = [pool.submit(abs, -1) for _ in range(tasks)]
    worst = 0.0
    running = True

    def tick() -> None:
        nonlocal worst
        last = time.perf_counter()
        while running:
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    ticker = threading.Thread(target=tick, name="gil_stall ticker")
    ticker.start()
    release.set()
    try:
        # One worker runs the queue in order: the last done means all done,
        # and waiting on one future keeps this thread out of the contest.
        futures[-1].result(timeout=SAMPLE_TIMEOUT_S)
    finally:
        running = False
        ticker.join()
    wait_all([gate, *futures], f"gil_stall on {type(pool).__module__}")
    return worst


def run_gil_stall(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.gil_tasks
    samples = alternate_pools(ctx, "gil_stall", lambda pool: worst_gil_stall(pool, tasks), max_workers=1)
    stall_ms = {name: [seconds * 1e3 for seconds in values] for name, values in samples.items()}
    return [
        make_row(
            "gil_stall",
            "C tasks",
            "ms",
            LOWER_IS_BETTER,
            stall_ms,
            params={"tasks": tasks, "workers": 1, "switch_interval_ms": sys.getswitchinterval() * 1e3},
            note=f"worst GIL wait of another thread over {tasks} queued abs(-1) calls; "
            f"switch interval {sys.getswitchinterval() * 1e3:.0f} ms",
        )
    ]
