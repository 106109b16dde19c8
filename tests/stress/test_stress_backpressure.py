"""Backpressure: a producer far ahead of its pool.

Both workers are held at first, so the producer is certainly ahead: with
``max_queued`` it stops at the bound, then keeps pace with the workers for
``backpressure_tasks`` no-ops (10M in the long suite) while memory stays
flat, and every task runs exactly once. For comparison the stdlib's pool,
given the same producer and the same held workers, queues every task: its
growth per task is reported, the run cut short after
``stdlib_backlog_tasks``.
"""

from __future__ import annotations

import concurrent.futures
import gc
import itertools
import threading
from typing import Any, Callable

import stealpool
from rss import rss_bytes

MB = 1 << 20
BOUND = 1000
WORKERS = 2
SAMPLES = 100
# Generous: the queue holds at most BOUND tasks, well under 1 MiB of them.
FLAT_MB = 32


def hold_workers(pool: Any, timeout: float) -> threading.Event:
    """Occupies every worker of ``pool`` until the returned event is set."""
    release = threading.Event()
    started = threading.Semaphore(0)

    def hold() -> None:
        started.release()
        release.wait(timeout)

    for _ in range(WORKERS):
        pool.submit(hold)
    for _ in range(WORKERS):
        assert started.acquire(timeout=timeout), "the workers did not start"
    return release


def sample_interval(tasks: int) -> int:
    return max(1, tasks // SAMPLES)


def produce(pool: Any, tasks: int, task: Callable[[], object], samples: list[int], kept: list[Any]) -> None:
    """Submits ``tasks`` calls of ``task``; keeps SAMPLES futures, evenly spread, and an RSS sample at each."""
    sample_every = sample_interval(tasks)
    for i in range(tasks):
        future = pool.submit(task)
        if i % sample_every == 0:
            kept.append(future)
            rss = rss_bytes()
            if rss is not None:
                samples.append(rss)


def test_a_bounded_producer_keeps_memory_flat_where_the_stdlib_grows(sizes, tally, wait_until, bounded):
    tasks = sizes.backpressure_tasks
    ticks = itertools.count()
    gc.collect()
    pool = stealpool.ThreadPoolExecutor(max_workers=WORKERS, max_queued=BOUND)
    release = hold_workers(pool, sizes.wait)
    before = pool.stats()
    samples: list[int] = []
    kept: list[concurrent.futures.Future] = []
    producer = threading.Thread(target=produce, args=(pool, tasks, ticks.__next__, samples, kept))
    producer.start()
    wait_until(lambda: pool.stats()["waiting_submitters"] == 1, sizes.wait, "the producer never waited for room")
    at_the_bound = pool.stats()
    release.set()
    # About 2 µs a task on a 2-core machine; the bound is for a stuck producer.
    producer.join(sizes.wait + tasks / 50_000)
    assert not producer.is_alive(), "the producer did not finish"
    bounded.shutdown(pool, timeout=sizes.wait)
    tally.tasks(tasks)

    assert at_the_bound["queued"] == BOUND, at_the_bound
    assert next(ticks) == tasks
    stats = pool.stats()
    assert stats["completed"] - before["completed"] == tasks + WORKERS, stats
    assert stats["waiting_submitters"] == 0, stats
    assert all(future.done() and future.exception() is None for future in kept)
    if samples:
        start, peak = samples[0], max(samples)
        tally.note(
            f"backpressure: {tasks:,} no-ops, max_queued={BOUND}: RSS {start / MB:.1f} MiB at the start, "
            f"peak {peak / MB:.1f} MiB (+{(peak - start) / MB:.1f})"
        )
        assert peak - start < FLAT_MB * MB, [f"{sample / MB:.1f}" for sample in samples]

    # Measured after stealpool's run: memory the stdlib's backlog frees stays
    # with the process, and would hide growth measured after it.
    backlog = sizes.stdlib_backlog_tasks
    queued, stdlib_samples = stdlib_growth(backlog, sizes.wait)
    tally.tasks(backlog)
    assert queued == backlog
    if len(stdlib_samples) > 1:
        slope = (stdlib_samples[-1] - stdlib_samples[0]) / ((len(stdlib_samples) - 1) * sample_interval(backlog))
        tally.note(
            f"backpressure: the stdlib's pool, same producer, grew {slope:,.0f} B/task over {backlog:,} "
            f"queued tasks (RSS {stdlib_samples[0] / MB:.1f} -> {stdlib_samples[-1] / MB:.1f} MiB), cut short there"
        )


def stdlib_growth(tasks: int, timeout: float) -> tuple[int, list[int]]:
    """The same producer against the stdlib's pool, workers held: how many
    tasks it queued (all of them: nothing stops it) and the RSS samples."""
    gc.collect()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS)
    release = hold_workers(pool, timeout)
    samples: list[int] = []
    kept: list[concurrent.futures.Future] = []
    try:
        produce(pool, tasks, object, samples, kept)
        return pool._work_queue.qsize(), samples
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        release.set()
        pool.shutdown()
