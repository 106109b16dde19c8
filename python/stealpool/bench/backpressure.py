"""backpressure: a producer far ahead of a 2-worker pool, bounded or not.

Peers: stealpool with ``max_queued``, stealpool unbounded, and the stdlib
with the hand-written semaphore that bounds it. Two rows: throughput, and
the peak RSS of the process (each sample a fresh child, as ``memory``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Callable, Dict, List

from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .results import Row, make_row
from .stats import HIGHER_IS_BETTER, LOWER_IS_BETTER

BOUND = 1000
PEERS = ["stdlib+semaphore", "stealpool max_queued", "stealpool unbounded"]
MAX_ROUNDS = 3  # each sample is a whole process


def probe(peer: str, tasks: int) -> Dict[str, float]:
    command = [sys.executable, "-m", "stealpool.bench.backpressure_probe", peer, str(tasks), str(BOUND)]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchHang("backpressure probe for {} did not finish within {:.0f}s".format(peer, SAMPLE_TIMEOUT_S)) from None
    if finished.returncode != 0:
        raise RuntimeError("backpressure probe for {} failed (exit {}):\n{}".format(peer, finished.returncode, finished.stderr))
    return json.loads(finished.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_backpressure(ctx: BenchContext) -> List[Row]:
    tasks = ctx.sizes.memory_tasks
    peak_rss: Dict[str, List[float]] = {peer: [] for peer in PEERS}

    def contender(peer: str) -> Callable[[], float]:
        def sample() -> float:
            result = probe(peer, tasks)
            peak_rss[peer].append(result["peak_rss"] / 2**20)
            return result["tasks_per_s"]

        return sample

    throughput = ctx.alternate(
        "backpressure", {peer: contender(peer) for peer in PEERS}, rounds=min(ctx.rounds, MAX_ROUNDS), warmup=0
    )
    params = {"tasks": tasks, "max_queued": BOUND, "workers": 2}
    note = "{} no-ops from one producer, bound {}".format(tasks, BOUND)
    return [
        make_row("backpressure", "throughput", "tasks/s", HIGHER_IS_BETTER, throughput,
                 baseline="stdlib+semaphore", params=params, note=note),
        make_row("backpressure", "peak RSS", "MiB", LOWER_IS_BETTER, peak_rss,
                 baseline="stdlib+semaphore", params=params, note=note),
    ]
