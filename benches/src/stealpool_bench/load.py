"""Load for the web rows: wrk where it is installed, else ``load_client`` in its own process.

A cell is PATHs driven over CONNECTIONS keep-alive connections for SECONDS
against 127.0.0.1. wrk runs with one thread (its event loop keeps hundreds
of connections busy, and a second thread would take a core from the server
on a 2-core machine) and a 10 s request timeout, so that slow responses at
high concurrency count as latency rather than as timeouts; a Lua ``done``
hook prints the figures as JSON. wrk counts responses with status 400 and
above as errors (what a healthy endpoint here could answer otherwise is
3xx, and none of ours does); the fallback client counts every non-2xx.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

WRK_THREADS = 1
WRK_TIMEOUT = "10s"
# Seconds beyond a cell's own length before the load generator is taken for stuck.
GRACE_S = 60.0

REPORT_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""
# Only where a cell names several paths (warm-ups): a request function stops wrk reusing one prepared request.
ROTATE_SCRIPT = """
local paths = {{{}}}
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format(nil, paths[(sent % #paths) + 1])
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int  # error responses and socket errors (failed connects, reads, writes, timeouts)


def generator() -> str:
    """What drives the load on this machine, for the rows' notes."""
    return "wrk" if shutil.which("wrk") else "Python client (wrk not installed)"


def _command(port: int, paths: list[str], connections: int, seconds: int, script: str) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        client = [sys.executable, "-m", "stealpool_bench.load_client", str(port), str(seconds), str(connections)]
        return client + paths
    return [
        wrk,
        f"-t{min(WRK_THREADS, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT}",
        f"--script={script}",
        f"http://127.0.0.1:{port}{paths[0]}",
    ]


def run_load(port: int, paths: list[str], connections: int, seconds: int) -> LoadResult:
    """One cell: PATHs (in turn) over CONNECTIONS connections for SECONDS (wrk takes whole seconds)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if len(paths) > 1:
            script.write(ROTATE_SCRIPT.format(", ".join(json.dumps(path) for path in paths)))
        script.write(REPORT_SCRIPT)
    try:
        finished = subprocess.run(
            _command(port, paths, connections, seconds, script.name),
            capture_output=True,
            text=True,
            timeout=seconds + GRACE_S,
        )
    finally:
        os.unlink(script.name)
    if finished.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {finished.returncode}): {finished.stderr[-2000:]}")
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    seconds_taken = figures["duration_us"] / 1e6
    return LoadResult(
        requests_per_s=figures["requests"] / seconds_taken if seconds_taken > 0 else 0.0,
        p50_ms=figures["p50_us"] / 1e3,
        p99_ms=figures["p99_us"] / 1e3,
        errors=figures["status_errors"] + figures["socket_errors"],
    )
