"""The server ``def_endpoint_cost`` measures: one Starlette endpoint, served one of several ways.

    python -m stealpool_bench.def_endpoint_server PORT VARIANT SWITCH_INTERVAL_S

``/work`` is the ``web`` rows' CPU-bound endpoint (a 16 KiB hash). The
variants take a ``def`` endpoint's cost apart, each adding one part:

  async                the endpoint written ``async def``: no anyio at all
  bare                 ``def``; anyio's worker-thread method replaced by a plain call
  floor                ``def``; that method replaced by ``anyio_floor.run_sync_inline``
  floor-no-checkpoint  the floor with anyio's checkpoint made a no-op
  stealpool            ``def``; ``stealpool.install()`` in the lifespan
  anyio                ``def``; stock anyio

``GET /cpu`` answers the server's CPU seconds (all threads, and the loop's
thread alone) and context switches, from /proc (Linux only). The
replacements patch anyio's asyncio backend for the whole process, which is
this server's alone. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any, Callable

import stealpool
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .web_server import async_endpoint, sync_endpoint

VARIANTS = ("async", "bare", "floor", "floor-no-checkpoint", "stealpool", "anyio")


def process_cpu() -> dict[str, float]:
    """CPU seconds of every thread and of the loop's (main) thread; context switches of all."""
    tick = os.sysconf("SC_CLK_TCK")
    loop_thread = threading.main_thread().native_id
    figures = {"cpu_s": 0.0, "loop_cpu_s": 0.0, "voluntary_switches": 0.0, "involuntary_switches": 0.0}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that ended while being read
            with open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/self/task/{tid}/status") as status:
                lines = status.read().splitlines()
            cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
            figures["cpu_s"] += cpu
            if int(tid) == loop_thread:
                figures["loop_cpu_s"] = cpu
            for line in lines:
                if line.startswith("voluntary_ctxt_switches"):
                    figures["voluntary_switches"] += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    figures["involuntary_switches"] += int(line.split()[1])
    return figures


async def cpu_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(process_cpu())


def replace_worker_thread_method(variant: str) -> None:
    """Swaps anyio's asyncio ``run_sync_in_worker_thread`` for the variant's no-thread stand-in."""
    from anyio._backends._asyncio import AsyncIOBackend

    from .anyio_floor import run_sync_inline

    async def plain_call(cls: Any, func: Callable[..., Any], args: tuple[Any, ...], *_: Any, **__: Any) -> Any:
        return func(*args)

    async def inline(cls: Any, func: Callable[..., Any], args: tuple[Any, ...], *_: Any, **__: Any) -> Any:
        return await run_sync_inline(func, *args)

    async def no_checkpoint(cls: Any) -> None:
        return None

    stand_in = plain_call if variant == "bare" else inline
    AsyncIOBackend.run_sync_in_worker_thread = classmethod(stand_in)  # type: ignore[method-assign,assignment]
    if variant == "floor-no-checkpoint":
        AsyncIOBackend.checkpoint = classmethod(no_checkpoint)  # type: ignore[method-assign,assignment]


def build_app(variant: str) -> Starlette:
    if variant in ("bare", "floor", "floor-no-checkpoint"):
        replace_worker_thread_method(variant)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if variant == "stealpool":
            stealpool.install()
        yield

    endpoint = async_endpoint if variant == "async" else sync_endpoint
    return Starlette(routes=[Route("/work", endpoint), Route("/cpu", cpu_endpoint)], lifespan=lifespan)


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[1] not in VARIANTS:
        raise SystemExit(f"usage: python -m stealpool_bench.def_endpoint_server PORT {'|'.join(VARIANTS)} SECONDS")
    port, variant, switch_interval = int(argv[0]), argv[1], float(argv[2])
    sys.setswitchinterval(switch_interval)
    uvicorn.run(build_app(variant), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
