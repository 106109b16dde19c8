"""The web row: uvicorn + Starlette with a plain ``def`` endpoint, stock against install().

Each sample starts a fresh server process (``web_server``) on 127.0.0.1,
warms it up, drives a bounded number of keep-alive requests through it from
this process, and stops it. The load generator is a small HTTP/1.1 client:
each connection sends its share of the requests one after another, and
every request's latency is kept, from write to last body byte. Stock and
installed servers alternate round by round. Rows: requests/s, and p50/p99
latency.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import subprocess
import sys
import time

from .context import BenchContext
from .results import HIGHER_IS_BETTER, LOWER_IS_BETTER, STEALPOOL, Row, make_row

STOCK = "anyio"
CONNECTIONS = 32
REQUESTS = {"quick": 320, "default": 12800, "full": 64000}
WARMUP_REQUESTS_PER_CONNECTION = 10
# Server runs take seconds each, so fewer rounds than the other rows.
MAX_ROUNDS = 3
STARTUP_TIMEOUT_S = 30.0
NOTE = (
    "uvicorn+Starlette def endpoint, {} connections, {} requests; "
    "stealpool = install() in lifespan; ratio against stock"
)

REQUEST = b"GET /work HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _body_length(head: bytes) -> int:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    if status_line.split(" ", 2)[1:2] != ["200"]:
        raise RuntimeError(f"the server answered {status_line!r}")
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value)
    raise RuntimeError("the server's response has no Content-Length")


async def _one_connection(port: int, requests: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(requests):
            started = time.perf_counter()
            writer.write(REQUEST)
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(_body_length(head))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()
        await writer.wait_closed()


async def drive(port: int, connections: int, requests_per_connection: int) -> tuple[float, list[float]]:
    """Seconds for all requests, and each request's latency in seconds."""
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*[_one_connection(port, requests_per_connection, latencies) for _ in range(connections)])
    return time.perf_counter() - started, latencies


async def wait_until_listening(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[round(fraction * (len(sorted_values) - 1))]


def _serve_and_measure(mode: str, requests: int, latency_ms: dict[str, list[float]]) -> float:
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
            raise RuntimeError(f"the {mode} web server did not start: {server.communicate()[1].decode()[-2000:]}")
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


def run_web(ctx: BenchContext) -> list[Row]:
    missing = [name for name in ("uvicorn", "starlette") if importlib.util.find_spec(name) is None]
    if missing:
        ctx.note("{} not installed: web rows skipped".format(", ".join(missing)))
        return []
    requests = REQUESTS[ctx.sizes.name]
    latency_ms: dict[str, dict[str, list[float]]] = {peer: {"p50": [], "p99": []} for peer in (STEALPOOL, STOCK)}
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
        rows.append(
            make_row("web", percentile, "ms", LOWER_IS_BETTER, samples, baseline=STOCK, params=params, note=note)
        )
    return rows
