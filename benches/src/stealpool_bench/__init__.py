"""The benchmark harness: ``python -m stealpool_bench [--quick|--full] [--only ...] [--busy] [--json|--wide] ...``.

In one process, each workload runs stealpool and its peers alternately
(A B A B … after a warm-up round) and reports each peer's median and its
ratio to the stdlib (> 1: faster than the stdlib). Workloads, by --only name:

  roundtrip     one no-op awaited at a time (per-call latency)
  burst         no-ops gathered at once (per-call throughput)
  anyio_roundtrip, anyio_burst
                the same two through anyio.to_thread.run_sync: install() against stock anyio
  submit, map   ThreadPoolExecutor.submit + wait, and .map, of no-ops
  sha256        1 MiB hashes at 1, 2, 4 … cpu_count workers: speedup over serial
  grain         the same hashing in 4 KiB / 64 KiB / 1 MiB tasks: MB/s
  sleep_fanout  1000 x sleep(5 ms) on 64 workers, against the ideal time
  gil_stall     longest GIL wait of another thread while a worker runs C tasks
  memory        RSS growth per task queued behind a blocked pool
  floor         the loop resolving futures by itself, against stealpool's burst
  web           uvicorn + Starlette, def endpoints hashing 16 KiB and sleeping 5 ms,
                install() in lifespan against stock, under wrk on 127.0.0.1:
                requests/s, p50 and p99 latency, errors
  web_db        TechEmpower's database tests (FastAPI, psycopg 3) on a throwaway
                PostgreSQL: def endpoints, install() against stock, async def twins
                as the reference; -c64 by default, -c16/64/256 with --full or
                --only web_db
  nested_fib    recursive fib(20), submit + result() at each level, on 2 workers
                (the stdlib is only probed for its deadlock, in a child)
  backpressure  a producer far ahead of 2 workers: max_queued against the stdlib
                with a semaphore and an unbounded pool; throughput, peak RSS

``--busy`` measures the web rows again while one busy-loop process per core
runs. Async workloads run on the stock loop and on uvloop where it imports. Peers
are described in ``stealpool_bench.peers``, sizes in ``stealpool_bench.context``,
the --json shape in ``stealpool_bench.report``.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    # Imported on call: the memory probe and web server children import
    # this package and should not pay for the whole harness.
    from .cli import main as cli_main

    return cli_main(argv)


__all__ = ["main"]
