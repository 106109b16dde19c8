"""backpressure: one producer far ahead of a 2-worker pool, bounded or not.

Peers: stealpool with ``max_queued``, stealpool unbounded, and the stdlib
with the hand-written semaphore that bounds it. Two rows: the throughput of
no-op tasks (what the bound costs), and the peak RSS of the process under a
consumer slower than the producer (pure-Python tasks of some microseconds,
holding the GIL), where an unbounded queue grows. As in ``memory``, each
sample is a fresh child, ``python -m stealpool_bench.backpressure PEER
TASKS BOUND CONSUMER``, which prints one JSON object: a peak RSS is only
the sample's own in a process of its own.
"""

from __future__ import annotations

import concurrent.futures
import json
import sys
import threading
import time
from typing import Callable

from .context import BenchContext
from .memory import peak_rss_bytes, probe_in_child
from .peers import noop
from .results import HIGHER_IS_BETTER, LOWER_IS_BETTER, STEALPOOL, Row, make_row, median

BOUND = 1000
WORKERS = 2
SEMAPHORE = "stdlib+semaphore"
BOUNDED = STEALPOOL  # the row's subject: stealpool with max_queued
UNBOUNDED = "stealpool unbounded"
PEERS = [SEMAPHORE, BOUNDED, UNBOUNDED]
# Each sample is a whole process.
MAX_ROUNDS = 3
# The slow consumer's task: a loop of this many turns, some microseconds.
BUSY_LOOPS = 300


# The child process's side: produce() and main().


def busy() -> None:
    for _ in range(BUSY_LOOPS):
        pass


CONSUMERS: dict[str, Callable[[], None]] = {"noop": noop, "busy": busy}


def produce(peer: str, tasks: int, bound: int, task: Callable[[], None]) -> float:
    """Seconds to submit ``tasks`` calls of ``task`` and see them all done."""
    import stealpool

    started = time.perf_counter()
    if peer == SEMAPHORE:
        # The hand-written bound every project carries: a slot per queued task.
        slots = threading.BoundedSemaphore(bound)
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for _ in range(tasks):
                slots.acquire()
                pool.submit(task).add_done_callback(lambda _: slots.release())
    else:
        max_queued = bound if peer == BOUNDED else None
        with stealpool.ThreadPoolExecutor(max_workers=WORKERS, max_queued=max_queued) as bounded:
            for _ in range(tasks):
                bounded.submit(task)
    return time.perf_counter() - started


# The benchmark's side: one child per sample.


def probe(peer: str, tasks: int, consumer: str) -> dict[str, float]:
    result: dict[str, float] = probe_in_child("stealpool_bench.backpressure", peer, str(tasks), str(BOUND), consumer)
    return result


def run_backpressure(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.memory_tasks
    rounds = min(ctx.rounds, MAX_ROUNDS)

    def contender(peer: str, consumer: str, measure: str, scale: float) -> Callable[[], float]:
        return lambda: probe(peer, tasks, consumer)[measure] / scale

    throughput = ctx.alternate(
        "backpressure [throughput]",
        {peer: contender(peer, "noop", "tasks_per_s", 1) for peer in PEERS},
        rounds=rounds,
        warmup=0,
    )
    peak_rss = ctx.alternate(
        "backpressure [peak RSS]",
        {peer: contender(peer, "busy", "peak_rss", 2**20) for peer in PEERS},
        rounds=rounds,
        warmup=0,
    )
    params = {"tasks": tasks, "max_queued": BOUND, "workers": WORKERS, "busy_loops": BUSY_LOOPS}
    speed_note = f"{tasks} no-ops from one producer, stealpool with max_queued={BOUND}"
    medians = {peer: median(values) for peer, values in throughput.items() if values}
    if medians.get(BOUNDED) and medians.get(UNBOUNDED):
        speed_note += f"; {medians[BOUNDED] / medians[UNBOUNDED]:.2f}x the throughput of the unbounded pool"
    rss_note = f"{tasks} tasks of {BUSY_LOOPS} loop turns, slower than the producer; an unbounded queue grows"
    return [
        make_row(
            "backpressure", "throughput", "tasks/s", HIGHER_IS_BETTER, throughput,
            baseline=SEMAPHORE, params=params, note=speed_note,
        ),
        make_row(
            "backpressure", "peak RSS", "MiB", LOWER_IS_BETTER, peak_rss,
            baseline=SEMAPHORE, params=params, note=rss_note,
        ),
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    peer, tasks, bound, consumer = argv[0], int(argv[1]), int(argv[2]), argv[3]
    seconds = produce(peer, tasks, bound, CONSUMERS[consumer])
    peak = peak_rss_bytes()
    print(json.dumps({"tasks_per_s": tasks / seconds, "peak_rss": float("nan") if peak is None else peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
