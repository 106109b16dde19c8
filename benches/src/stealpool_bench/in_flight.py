"""Knowing when a bench server has finished its work: an ASGI middleware counting requests in flight.

When wrk stops at the end of a cell it closes its connections, but the
server goes on with every request it had accepted: a ``def`` endpoint
queued for a thread, an ``async def`` one waiting for a pooled connection.
At 256 connections on a slow endpoint that backlog takes seconds, and the
next cell would be measured while the server still works it off. So the
servers count the requests they are serving, ``GET /in-flight`` answers
that count (itself excluded), and the bench waits for 0 between cells.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Awaitable, MutableMapping
from typing import Any, Callable

PATH = "/in-flight"
POLL_S = 0.02

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class InFlight:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0  # only the loop thread touches it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == PATH:
            body = str(self.requests).encode()
            headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.requests += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.requests -= 1


def wait_until_idle(port: int, timeout_s: float) -> None:
    """Returns once the server on ``port`` serves no request; RuntimeError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        while True:
            connection.request("GET", PATH)
            in_flight = int(connection.getresponse().read())
            if in_flight == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server on port {port} still had {in_flight} requests after {timeout_s} s")
            time.sleep(POLL_S)
    finally:
        connection.close()
