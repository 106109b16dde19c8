"""The web row's server: uvicorn serving Starlette with two plain ``def`` endpoints.

    python -m stealpool_bench.web_server PORT stock|install

``/work`` hashes 16 KiB (CPU in the thread, GIL released); ``/sleep``
blocks 5 ms without using the CPU, as a call to another service would.
Starlette runs a ``def`` endpoint through ``anyio.to_thread.run_sync``. With
``install`` the app's lifespan calls ``stealpool.install()``, the one line the
README gives for Starlette and FastAPI apps. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
from collections.abc import AsyncIterator

import stealpool
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from .in_flight import InFlight

# The endpoint's blocking work: a small hash, about ten microseconds.
PAYLOAD = bytes(16 * 1024)
SLEEP_S = 0.005


def sync_endpoint(request: Request) -> PlainTextResponse:
    return PlainTextResponse(hashlib.sha256(PAYLOAD).hexdigest())


async def async_endpoint(request: Request) -> PlainTextResponse:
    """``sync_endpoint`` written ``async def``: the same work, on the loop (``def_endpoint_server``)."""
    return sync_endpoint(request)


def sleeping_endpoint(request: Request) -> PlainTextResponse:
    time.sleep(SLEEP_S)
    return PlainTextResponse("slept")


def build_app(install: bool) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if install:
            stealpool.install()
        yield

    return Starlette(routes=[Route("/work", sync_endpoint), Route("/sleep", sleeping_endpoint)], lifespan=lifespan)


def main(argv: list[str]) -> None:
    port, mode = int(argv[0]), argv[1]
    if mode not in ("stock", "install"):
        raise SystemExit("usage: python -m stealpool_bench.web_server PORT stock|install")
    app = InFlight(build_app(mode == "install"))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
