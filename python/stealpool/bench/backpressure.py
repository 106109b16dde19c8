"""backpressure: one producer far ahead of a 2-worker pool, bounded or not.

Peers: stealpool with ``max_queued``, stealpool unbounded, and the stdlib
with the hand-written semaphore that bounds it. Two rows: throughput, and
the peak RSS of the process. As in ``memory``, each sample is a fresh
child, ``python -m stealpool.bench.backpressure PEER TASKS BOUND``, which
prints one JSON object: a peak RSS is only the sample's own in a process
of its own.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import threading
import time
from typing import Callable

from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .memory import peak_rss_bytes
from .peers import noop
from .results import HIGHER_IS_BETTER, LOWER_IS_BETTER, Row, make_row

BOUND = 1000
WORKERS = 2
SEMAPHORE = "stdlib+semaphore"
BOUNDED = "stealpool max_queued"
UNBOUNDED = "stealpool unbounded"
PEERS = [SEMAPHORE, BOUNDED, UNBOUNDED]
# Each sample is a whole process.
MAX_ROUNDS = 3


# The child process's side: produce() and main().


def produce(peer: str, tasks: int, bound: int) -> float:
    """Seconds to submit ``tasks`` no-ops and see them all done."""
    import stealpool

    started = time.perf_counter()
    if peer == SEMAPHORE:
        # The hand-written bound every project carries: a slot per queued task.
        slots = threading.BoundedSemaphore(bound)
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for _ in range(tasks):
                slots.acquire()
                pool.submit(noop).add_done_callback(lambda _: slots.release())
    else:
        max_queued = bound if peer == BOUNDED else None
        with stealpool.ThreadPoolExecutor(max_workers=WORKERS, max_queued=max_queued) as bounded:
            for _ in range(tasks):
                bounded.submit(noop)
    return time.perf_counter() - started


# The benchmark's side: one child per sample.


def probe(peer: str, tasks: int) -> dict[str, float]:
    command = [sys.executable, "-m", "stealpool.bench.backpressure", peer, str(tasks), str(BOUND)]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchHang(f"backpressure probe for {peer} did not finish within {SAMPLE_TIMEOUT_S:.0f}s") from None
    if finished.returncode != 0:
        raise RuntimeError(f"backpressure probe for {peer} failed (exit {finished.returncode}):\n{finished.stderr}")
    result: dict[str, float] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def run_backpressure(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.memory_tasks
    peak_rss: dict[str, list[float]] = {peer: [] for peer in PEERS}

    def contender(peer: str) -> Callable[[], float]:
        def sample() -> float:
            result = probe(peer, tasks)
            peak_rss[peer].append(result["peak_rss"] / 2**20)
            return result["tasks_per_s"]

        return sample

    throughput = ctx.alternate(
        "backpressure", {peer: contender(peer) for peer in PEERS}, rounds=min(ctx.rounds, MAX_ROUNDS), warmup=0
    )
    params = {"tasks": tasks, "max_queued": BOUND, "workers": WORKERS}
    note = f"{tasks} no-ops from one producer, bound {BOUND}"
    return [
        make_row(
            "backpressure", "throughput", "tasks/s", HIGHER_IS_BETTER, throughput,
            baseline=SEMAPHORE, params=params, note=note,
        ),
        make_row(
            "backpressure", "peak RSS", "MiB", LOWER_IS_BETTER, peak_rss,
            baseline=SEMAPHORE, params=params, note=note,
        ),
    ]  # fmt: skip


def main(argv: list[str]) -> int:
    peer, tasks, bound = argv[0], int(argv[1]), int(argv[2])
    seconds = produce(peer, tasks, bound)
    peak = peak_rss_bytes()
    print(json.dumps({"tasks_per_s": tasks / seconds, "peak_rss": float("nan") if peak is None else peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
