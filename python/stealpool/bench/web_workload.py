"""The web row: uvicorn + Starlette with a plain ``def`` endpoint, stock against install().

Each sample starts a fresh server process (``web_server``) on 127.0.0.1,
warms it up, drives a bounded number of keep-alive requests through it from
this process (``web_load``), and stops it. Stock and installed servers
alternate round by round. Rows: requests/s, and p50/p99 latency.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import sys
from typing import Dict, List

from .context import BenchContext
from .results import STEALPOOL, Row, make_row
from .stats import HIGHER_IS_BETTER, LOWER_IS_BETTER
from .web_load import drive, wait_until_listening

STOCK = "anyio"
CONNECTIONS = 32
REQUESTS = {"quick": 320, "default": 12800, "full": 64000}
WARMUP_REQUESTS_PER_CONNECTION = 10
# Server runs take seconds each, so fewer rounds than the other rows.
MAX_ROUNDS = 3
STARTUP_TIMEOUT_S = 30.0
NOTE = "uvicorn+Starlette def endpoint, {} connections, {} requests; stealpool = install() in lifespan; ratio against stock"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(sorted_values: List[float], fraction: float) -> float:
    return sorted_values[round(fraction * (len(sorted_values) - 1))]


def _serve_and_measure(mode: str, requests: int, latency_ms: Dict[str, List[float]]) -> float:
    """One server run: requests/s; appends this run's p50 and p99 (ms) to ``latency_ms``."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "stealpool.bench.web_server", str(port), mode],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        try:
            asyncio.run(wait_until_listening(port, STARTUP_TIMEOUT_S))
        except OSError:
            server.kill()
            raise RuntimeError("the {} web server did not start: {}".format(mode, server.communicate()[1].decode()[-2000:]))
        asyncio.run(drive(port, CONNECTIONS, WARMUP_REQUESTS_PER_CONNECTION))
        seconds, latencies = asyncio.run(drive(port, CONNECTIONS, requests // CONNECTIONS))
    finally:
        server.terminate()
        try:
            server.wait(STARTUP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()  # type: ignore[union-attr]
    latencies.sort()
    latency_ms["p50"].append(_percentile(latencies, 0.50) * 1e3)
    latency_ms["p99"].append(_percentile(latencies, 0.99) * 1e3)
    return len(latencies) / seconds


def run_web(ctx: BenchContext) -> List[Row]:
    missing = [name for name in ("uvicorn", "starlette") if importlib.util.find_spec(name) is None]
    if missing:
        ctx.note("{} not installed: web rows skipped".format(", ".join(missing)))
        return []
    requests = REQUESTS[ctx.sizes.name]
    latency_ms: Dict[str, Dict[str, List[float]]] = {peer: {"p50": [], "p99": []} for peer in (STEALPOOL, STOCK)}
    contenders = {
        STEALPOOL: lambda: _serve_and_measure("install", requests, latency_ms[STEALPOOL]),
        STOCK: lambda: _serve_and_measure("stock", requests, latency_ms[STOCK]),
    }
    throughput = ctx.alternate("web [req/s]", contenders, rounds=min(ctx.rounds, MAX_ROUNDS), warmup=0)
    note = NOTE.format(CONNECTIONS, requests)
    params = {"connections": CONNECTIONS, "requests": requests}
    rows = [make_row("web", "req/s", "req/s", HIGHER_IS_BETTER, throughput, baseline=STOCK, params=params, note=note)]
    for percentile in ("p50", "p99"):
        samples = {peer: latency_ms[peer][percentile] for peer in (STEALPOOL, STOCK)}
        rows.append(make_row("web", percentile, "ms", LOWER_IS_BETTER, samples, baseline=STOCK, params=params, note=note))
    return rows
