"""A small HTTP/1.1 load generator for the web row: keep-alive connections on 127.0.0.1.

Each connection sends its share of a bounded number of GET requests one
after another; every request's latency is kept, from write to last body byte.
"""

from __future__ import annotations

import asyncio
import time
from typing import List, Tuple

REQUEST = b"GET /work HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _body_length(head: bytes) -> int:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    if status_line.split(" ", 2)[1:2] != ["200"]:
        raise RuntimeError("the server answered {!r}".format(status_line))
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return int(value)
    raise RuntimeError("the server's response has no Content-Length")


async def _one_connection(port: int, requests: int, latencies: List[float]) -> None:
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


async def drive(port: int, connections: int, requests_per_connection: int) -> Tuple[float, List[float]]:
    """Seconds for all requests, and each request's latency in seconds."""
    latencies: List[float] = []
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
