"""memory: RSS growth per task queued behind a blocked pool, stdlib against stealpool.

Each sample is a fresh child process (see memory_probe); the peers still
alternate, round by round, like every other workload. No warm-up round:
a fresh process has nothing to warm.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Callable, Dict, List

from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .peers import SYNC_POOLS
from .results import Row, make_row
from .stats import LOWER_IS_BETTER

MEMORY_WORKERS = 4
# RSS growth barely varies between runs, and each sample is a whole process.
MAX_MEMORY_ROUNDS = 3


def probe(peer: str, tasks: int, workers: int) -> Dict[str, object]:
    command = [sys.executable, "-m", "stealpool.bench.memory_probe", peer, str(tasks), str(workers)]
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchHang("memory probe for {} did not finish within {:.0f}s".format(peer, SAMPLE_TIMEOUT_S)) from None
    if finished.returncode != 0:
        raise RuntimeError("memory probe for {} failed (exit {}):\n{}".format(peer, finished.returncode, finished.stderr))
    return json.loads(finished.stdout.strip().splitlines()[-1])


def run_memory(ctx: BenchContext) -> List[Row]:
    tasks = ctx.sizes.memory_tasks
    results: Dict[str, List[Dict[str, object]]] = {name: [] for name in SYNC_POOLS}

    def contender(name: str) -> Callable[[], float]:
        def sample() -> float:
            result = probe(name, tasks, MEMORY_WORKERS)
            results[name].append(result)
            if result["bytes_per_task"] is None:
                return float("nan")
            return float(result["bytes_per_task"])  # type: ignore[arg-type]

        return sample

    samples = ctx.alternate(
        "memory", {name: contender(name) for name in SYNC_POOLS}, rounds=min(ctx.rounds, MAX_MEMORY_ROUNDS), warmup=0
    )
    if any(value != value for values in samples.values() for value in values):  # NaN: no RSS source
        ctx.note("memory: RSS is not measurable on this platform; skipped")
        return []
    queued = {name: [r["queued"] for r in runs] for name, runs in results.items()}
    note = "{} no-ops behind {} blocked workers".format(tasks, MEMORY_WORKERS)
    if any(count != tasks for counts in queued.values() for count in counts if count is not None):
        note += "; WARNING: queued counts {} differ from {}".format(queued, tasks)
    return [
        make_row(
            "memory", "{}k queued".format(tasks // 1000), "B/task", LOWER_IS_BETTER, samples,
            params={"tasks": tasks, "workers": MEMORY_WORKERS, "queued": queued}, note=note,
        )
    ]
