"""The load generator where wrk is not installed: an HTTP/1.1 keep-alive client in a process of its own.

    python -m stealpool_bench.load_client PORT SECONDS CONNECTIONS PATH [PATH...]

Each connection sends one request at a time until SECONDS have passed,
taking PATHs in turn, and every request's latency is kept, from write to
last body byte. Prints one JSON object, the keys ``load.py`` reads from
wrk: requests, duration_us, p50_us, p99_us, status_errors (responses not
2xx) and socket_errors (failed connects, reads and writes; the connection
is then opened again). Talks to 127.0.0.1 only. A process of its own, so
that the client's Python competes for the cores as wrk would, instead of
slowing the harness.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    status_errors: int = 0
    socket_errors: int = 0


def _status_and_length(head: bytes) -> tuple[int, int]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return status, int(value)
    raise ValueError(f"a response without Content-Length: {status_line!r}")


async def _one_connection(port: int, requests: list[bytes], deadline: float, tally: Tally) -> None:
    sent = 0
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            tally.socket_errors += 1
            await asyncio.sleep(0.01)
            continue
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                writer.write(requests[sent % len(requests)])
                sent += 1
                status, length = _status_and_length(await reader.readuntil(b"\r\n\r\n"))
                await reader.readexactly(length)
                tally.latencies.append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    tally.status_errors += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tally.socket_errors += 1
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


def _percentile_us(sorted_seconds: list[float], fraction: float) -> int:
    if not sorted_seconds:
        return 0
    return round(sorted_seconds[round(fraction * (len(sorted_seconds) - 1))] * 1e6)


async def drive(port: int, seconds: float, connections: int, paths: list[str]) -> dict[str, int]:
    requests = [f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii") for path in paths]
    tally = Tally()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*[_one_connection(port, requests, deadline, tally) for _ in range(connections)])
    duration = time.perf_counter() - started
    tally.latencies.sort()
    return {
        "requests": len(tally.latencies),
        "duration_us": round(duration * 1e6),
        "p50_us": _percentile_us(tally.latencies, 0.50),
        "p99_us": _percentile_us(tally.latencies, 0.99),
        "status_errors": tally.status_errors,
        "socket_errors": tally.socket_errors,
    }


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        raise SystemExit("usage: python -m stealpool_bench.load_client PORT SECONDS CONNECTIONS PATH [PATH...]")
    port, seconds, connections, paths = int(argv[0]), float(argv[1]), int(argv[2]), argv[3:]
    print(json.dumps(asyncio.run(drive(port, seconds, connections, paths))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
