"""nested_fib: recursive fib(20) with nested waits on max_workers=2.

Each call submits its two halves to the same pool and waits on both. On
stealpool a waiting worker runs an awaited task that has not started
itself, so it completes; on the stdlib's pool both workers soon wait on
tasks nobody can start. The stdlib side is therefore not timed: a child
process tries a small fib with a short timeout, and the row says whether it
deadlocked.
"""

from __future__ import annotations

import subprocess
import sys
import time

from .context import BenchContext
from .results import LOWER_IS_BETTER, STEALPOOL, Row, make_row

FIB_N = 20
WORKERS = 2
STDLIB_PROBE_N = 12
STDLIB_PROBE_TIMEOUT_S = 5.0

STDLIB_PROBE = f"""
import concurrent.futures
pool = concurrent.futures.ThreadPoolExecutor(max_workers={WORKERS})
def fib(n):
    if n < 2:
        return n
    a, b = pool.submit(fib, n - 1), pool.submit(fib, n - 2)
    return a.result() + b.result()
print(pool.submit(fib, {STDLIB_PROBE_N}).result())
"""


def stdlib_deadlocks() -> bool:
    """True if the stdlib's pool gets no result within the probe's timeout."""
    try:
        subprocess.run([sys.executable, "-c", STDLIB_PROBE], capture_output=True, timeout=STDLIB_PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return True
    return False


def run_nested_fib(ctx: BenchContext) -> list[Row]:
    from stealpool import ThreadPoolExecutor

    def fib_seconds() -> float:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:

            def fib(n: int) -> int:
                if n < 2:
                    return n
                a, b = pool.submit(fib, n - 1), pool.submit(fib, n - 2)
                return a.result() + b.result()

            started = time.perf_counter()
            pool.submit(fib, FIB_N).result()
            return time.perf_counter() - started

    samples = ctx.alternate("nested_fib", {STEALPOOL: fib_seconds})
    stdlib = "deadlocks" if stdlib_deadlocks() else "completed"
    note = f"stdlib: {stdlib} (fib({STDLIB_PROBE_N}) probed in a child process, {STDLIB_PROBE_TIMEOUT_S:.0f}s timeout)"
    return [
        make_row(
            "nested_fib",
            f"fib({FIB_N}), {WORKERS} workers; stdlib {stdlib}",
            "s",
            LOWER_IS_BETTER,
            samples,
            baseline=None,
            params={"n": FIB_N, "workers": WORKERS, "stdlib": stdlib},
            note=note,
        )
    ]
