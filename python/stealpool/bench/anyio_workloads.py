"""``anyio.to_thread.run_sync(noop)``: stock anyio against the same call after install().

anyio_roundtrip  one call at a time, N times (as roundtrip).
anyio_burst      N calls gathered at once (as burst); anyio's default limiter
                 (40 tokens per loop) applies to both peers, as in applications.

Both peers make the identical call; only ``stealpool.install()`` on the loop
differs, so the ratio is what an anyio application (Starlette's
``run_in_threadpool``, FastAPI's ``def`` endpoints) gains from install().
"""

from __future__ import annotations

import asyncio
from typing import Dict, List

import stealpool

from .async_workloads import _alternate_on_hosts, _loop_kinds, _per_call_us, burst_body, roundtrip_body
from .context import BenchContext
from .loops import Body, Caller
from .peers import AsyncPeer
from .results import STEALPOOL, Row, make_row
from .stats import LOWER_IS_BETTER

STOCK_ANYIO = "anyio"
NOTE = "anyio.to_thread.run_sync(noop); stealpool = after install(); ratio against stock anyio"


def _anyio_peers(ctx: BenchContext) -> Dict[str, AsyncPeer]:
    try:
        import anyio.to_thread
    except ImportError as exc:
        ctx.note("anyio not importable ({}): anyio rows skipped".format(exc))
        return {}

    def installed(loop: asyncio.AbstractEventLoop) -> Caller:
        stealpool.install(loop)
        return anyio.to_thread.run_sync

    return {STEALPOOL: AsyncPeer(STEALPOOL, installed), STOCK_ANYIO: AsyncPeer(STOCK_ANYIO, lambda loop: anyio.to_thread.run_sync)}


def _stock_against_installed(workload: str, body: Body, size: int, ctx: BenchContext) -> List[Row]:
    peers = _anyio_peers(ctx)
    if not peers:
        return []
    rows = []
    for kind in _loop_kinds(ctx):
        label = "{} [{}]".format(workload, kind.name)
        samples = _alternate_on_hosts(ctx, label, kind, {name: body for name in peers}, peers, size)
        rows.append(
            make_row(
                workload, kind.name, "us/call", LOWER_IS_BETTER, _per_call_us(samples, size),
                baseline=STOCK_ANYIO, params={"calls": size}, note=NOTE,
            )
        )
    return rows


def run_anyio_roundtrip(ctx: BenchContext) -> List[Row]:
    return _stock_against_installed("anyio_roundtrip", roundtrip_body, ctx.sizes.roundtrip_calls, ctx)


def run_anyio_burst(ctx: BenchContext) -> List[Row]:
    return _stock_against_installed("anyio_burst", burst_body, ctx.sizes.burst_calls, ctx)
