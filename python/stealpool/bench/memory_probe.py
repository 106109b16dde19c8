"""Child process for the memory workload: RSS growth of N tasks queued behind a blocked pool.

Run as ``python -m stealpool.bench.memory_probe PEER TASKS WORKERS``; prints
one JSON object. A fresh process per sample, because freed memory is kept
for reuse: a pool measured after another would look leaner than it is.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
from typing import Dict, List, Optional

from .peers import SYNC_POOLS, noop

STARTUP_TIMEOUT_S = 60.0


def rss_bytes() -> Optional[int]:
    """Resident set size now (Linux), else the peak so far; None where neither is known."""
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
    return peak if sys.platform == "darwin" else peak * 1024


def queued_tasks(pool: object) -> Optional[int]:
    """How many tasks wait in the queue, to check the pool really was blocked."""
    stats = getattr(pool, "stats", None)
    if callable(stats):
        return int(stats()["queued"])
    work_queue = getattr(pool, "_work_queue", None)
    return work_queue.qsize() if work_queue is not None else None


def measure(peer: str, tasks: int, workers: int) -> Dict[str, object]:
    pool = SYNC_POOLS[peer](max_workers=workers)
    release = threading.Event()
    started = threading.Semaphore(0)

    def blocker() -> None:
        started.release()
        release.wait()

    blockers = [pool.submit(blocker) for _ in range(workers)]
    for _ in range(workers):
        if not started.acquire(timeout=STARTUP_TIMEOUT_S):
            raise RuntimeError("{}: not all {} workers started within {:.0f}s".format(peer, workers, STARTUP_TIMEOUT_S))
    gc.collect()
    before = rss_bytes()
    # Keeping the futures is part of the cost: a caller holds them to get results.
    futures: List[object] = [pool.submit(noop) for _ in range(tasks)]
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


def main(argv: List[str]) -> int:
    peer, tasks, workers = argv[0], int(argv[1]), int(argv[2])
    print(json.dumps(measure(peer, tasks, workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
