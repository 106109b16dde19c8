"""One backpressure sample in a fresh process: a producer submits no-op
tasks as fast as it can to a 2-worker pool; prints throughput and peak RSS
as JSON. ``python -m stealpool.bench.backpressure_probe PEER TASKS BOUND``."""

from __future__ import annotations

import concurrent.futures
import json
import sys
import threading
import time


def noop() -> None:
    pass


def produce(peer: str, tasks: int, bound: int) -> float:
    """Seconds to submit ``tasks`` no-ops and see them all done."""
    import stealpool

    started = time.perf_counter()
    if peer == "stdlib+semaphore":
        # The hand-written bound every project carries: a slot per queued task.
        slots = threading.BoundedSemaphore(bound)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            for _ in range(tasks):
                slots.acquire()
                pool.submit(noop).add_done_callback(lambda _: slots.release())
    else:
        max_queued = bound if peer == "stealpool max_queued" else None
        with stealpool.ThreadPoolExecutor(max_workers=2, max_queued=max_queued) as pool:
            for _ in range(tasks):
                pool.submit(noop)
    return time.perf_counter() - started


def peak_rss_bytes() -> int:
    import resource

    # Linux reports KiB, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


if __name__ == "__main__":
    peer, tasks, bound = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seconds = produce(peer, tasks, bound)
    print(json.dumps({"tasks_per_s": tasks / seconds, "peak_rss": peak_rss_bytes()}))
