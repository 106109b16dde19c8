"""memory: RSS growth per task queued behind a blocked pool, stdlib against stealpool.

Each sample is a fresh child process, ``python -m stealpool_bench.memory
PEER TASKS WORKERS``, which prints one JSON object: freed memory is kept
for reuse, so a pool measured after another in one process would look
leaner than it is. The peers still alternate, round by round, like every
other workload. No warm-up round: a fresh process has nothing to warm.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
from typing import Any, Callable

from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .peers import SYNC_POOLS, noop
from .results import LOWER_IS_BETTER, Row, make_row

MEMORY_WORKERS = 4
# RSS growth barely varies between runs, and each sample is a whole process.
MAX_MEMORY_ROUNDS = 3

PROBE_STARTUP_TIMEOUT_S = 60.0


# The child process's side: measure() and main().


def rss_bytes() -> int | None:
    """Resident set size now (Linux), else the peak so far; None where neither is known."""
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int | None:
    """The process's peak resident set size so far; None where it is not known.

    On Linux from the address space's own high-water mark (``VmHWM``):
    ``ru_maxrss`` survives ``exec``, so in a probe child it would report the
    bench process's size at the fork whenever that is larger."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
    return peak if sys.platform == "darwin" else peak * 1024


def queued_tasks(pool: object) -> int | None:
    """How many tasks wait in the queue, to check the pool really was blocked."""
    stats = getattr(pool, "stats", None)
    if callable(stats):
        return int(stats()["queued"])
    work_queue = getattr(pool, "_work_queue", None)
    return work_queue.qsize() if work_queue is not None else None


def measure(peer: str, tasks: int, workers: int) -> dict[str, object]:
    pool = SYNC_POOLS[peer](max_workers=workers)
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocker() -> None:
        started.release()
        release.wait()

    blockers = [pool.submit(blocker) for _ in range(workers)]
    for _ in range(workers):
        if not started.acquire(timeout=PROBE_STARTUP_TIMEOUT_S):
            raise RuntimeError(f"{peer}: not all {workers} workers started within {PROBE_STARTUP_TIMEOUT_S:.0f}s")
    gc.collect()
    before = rss_bytes()
    # Keeping the futures is part of the cost: a caller holds them to get results.
    futures: list[object] = [pool.submit(noop) for _ in range(tasks)]
    after = rss_bytes()
    queued = queued_tasks(pool)
    # Cancel rather than run the queue: only the memory was of interest.
    pool.shutdown(wait=False, cancel_futures=True)
    release.set()
    pool.shutdown(wait=True)
    del futures, blockers
    growth = None if before is None or after is None else after - before
    return {
        "peer": peer,
        "tasks": tasks,
        "workers": workers,
        "rss_before": before,
        "rss_after": after,
        "queued": queued,
        "bytes_per_task": None if growth is None else growth / tasks,
    }


# The benchmark's side: one child per sample.


def probe_in_child(module: str, peer: str, *args: str) -> Any:
    """Runs ``python -m module peer *args`` and returns the JSON its last line holds."""
    command = [sys.executable, "-m", module, peer, *args]
    what = f"{module.rsplit('.', 1)[-1]} probe for {peer}"
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=SAMPLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchHang(f"{what} did not finish within {SAMPLE_TIMEOUT_S:.0f}s") from None
    if finished.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {finished.returncode}):\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def probe(peer: str, tasks: int, workers: int) -> dict[str, object]:
    result: dict[str, object] = probe_in_child("stealpool_bench.memory", peer, str(tasks), str(workers))
    return result


def run_memory(ctx: BenchContext) -> list[Row]:
    tasks = ctx.sizes.memory_tasks
    results: dict[str, list[dict[str, object]]] = {name: [] for name in SYNC_POOLS}

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
    note = f"{tasks} no-ops behind {MEMORY_WORKERS} blocked workers"
    if any(count != tasks for counts in queued.values() for count in counts if count is not None):
        note += f"; WARNING: queued counts {queued} differ from {tasks}"
    return [
        make_row(
            "memory",
            f"{tasks // 1000}k queued",
            "B/task",
            LOWER_IS_BETTER,
            samples,
            params={"tasks": tasks, "workers": MEMORY_WORKERS, "queued": queued},
            note=note,
        )
    ]


def main(argv: list[str]) -> int:
    peer, tasks, workers = argv[0], int(argv[1]), int(argv[2])
    print(json.dumps(measure(peer, tasks, workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
