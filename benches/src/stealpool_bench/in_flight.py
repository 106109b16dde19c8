"""Knowing when a bench server has finished its work: an ASGI middleware counting requests in flight.

When wrk stops at the end of a cell it closes its connections, but the
server goes on with every request it had accepted: a ``def`` endpoint
queued for a thread, an ``async def`` one waiting for a pooled connection.
At 256 connections on a slow endpoint that backlog takes seconds, and the
next cell would be measured while the server still works it off. So the
servers count the requests they are serving, ``GET /in-flight`` answers
that count (itself excluded), and the bench waits for 0 between cells.

The same answer carries how many requests the server has finished and the
CPU time its process has used (every thread), so that a cell can also be
read as the server's CPU per request: what separates a server that does
more work per request from one that got less of the cores.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Awaitable, MutableMapping
from dataclasses import dataclass
from typing import Any, Callable

PATH = "/in-flight"
POLL_S = 0.02

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class ServerWork:
    """What an idle server has done so far: requests finished, and its process's CPU seconds."""

    served: int
    cpu_s: float


class InFlight:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Only the loop thread touches these.
        self.requests = 0
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH:
            body = f"{self.requests} {self.served} {time.process_time()!r}".encode()
            headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.requests += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.requests -= 1
            self.served += 1


def wait_until_idle(port: int, timeout_s: float) -> ServerWork:
    """What the server on ``port`` has done, once it serves no request; RuntimeError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        while True:
            connection.request("GET", PATH)
            requests, served, cpu_s = connection.getresponse().read().split()
            in_flight = int(requests)
            if in_flight == 0:
                return ServerWork(served=int(served), cpu_s=float(cpu_s))
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {port} still had {in_flight} requests after {timeout_s} s")
            time.sleep(POLL_S)
    finally:
        connection.close()
