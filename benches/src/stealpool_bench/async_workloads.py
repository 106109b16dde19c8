"""Workloads that await no-ops from a coroutine: per-call overhead of each peer.

roundtrip        one call at a time, N times: latency of a single hop and back.
burst            N calls gathered at once: throughput when calls pile up.
floor            N plain futures resolved by the loop alone, one call_soon each, no threads,
                 against which stealpool's burst is put (its bridge, resolving a batch in
                 one callback, can beat it).
anyio_roundtrip  ``anyio.to_thread.run_sync(noop)`` one call at a time (as roundtrip),
anyio_burst      and N such calls gathered at once (as burst); anyio's default limiter
                 (40 tokens per loop) applies to both peers, as in applications.

In the anyio rows both peers make the identical call and only
``stealpool.install()`` on the loop differs, so the ratio is what an anyio
application (Starlette's ``run_in_threadpool``, FastAPI's ``def`` endpoints)
gains from install(). Their floor, ``anyio inline``, is the same call with
the thread taken out (``anyio_floor``): each peer is reported as the share
of that floor's rate it reaches, as stealpool is in the floor rows. A
second one, ``anyio resumed``, also hands the result back through a future
the loop resolves, suspending the caller once as every offload must: the
least a hop can cost, the thread's own work left out.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Callable

import stealpool

from .context import BenchContext
from .loops import Body, Caller, LoopHost, LoopKind, available_loop_kinds
from .peers import AsyncPeer, available_async_peers, noop, stdlib_run_in_executor
from .results import FRACTION_OF_FLOOR, FRACTION_OF_RESUMED_FLOOR, LOWER_IS_BETTER, STEALPOOL, Row, make_row

LOOP_ALONE = "loop alone"
STOCK_ANYIO = "anyio"
ANYIO_INLINE = "anyio inline"
ANYIO_RESUMED = "anyio resumed"
ANYIO_NOTE = "anyio.to_thread.run_sync(noop); stealpool = after install(); ratio against stock anyio"


async def roundtrip_body(call: Caller, calls: int) -> None:
    for _ in range(calls):
        await call(noop)


async def burst_body(call: Caller, calls: int) -> None:
    await asyncio.gather(*[call(noop) for _ in range(calls)])


async def floor_body(call: Caller, futures_count: int) -> None:
    # What the loop pays per completion without any thread: create, schedule, gather.
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in range(futures_count)]
    for future in futures:
        loop.call_soon(future.set_result, None)
    await asyncio.gather(*futures)


def _loop_kinds(ctx: BenchContext) -> list[LoopKind]:
    kinds, notes = available_loop_kinds()
    for note in notes:
        ctx.note(note)
    return kinds


def _async_peers(ctx: BenchContext) -> list[AsyncPeer]:
    peers, notes = available_async_peers()
    for note in notes:
        ctx.note(note)
    return peers


def _per_call_us(samples: dict[str, list[float]], calls: int) -> dict[str, list[float]]:
    return {name: [seconds / calls * 1e6 for seconds in values] for name, values in samples.items()}


def _alternate_on_hosts(
    ctx: BenchContext, label: str, kind: LoopKind, bodies: dict[str, Body], peers: dict[str, AsyncPeer], size: int
) -> dict[str, list[float]]:
    hosts: dict[str, LoopHost] = {}
    try:
        for name, peer in peers.items():
            hosts[name] = LoopHost(kind, peer.prepare, name)
        contenders: dict[str, Callable[[], float]] = {
            name: functools.partial(host.time, bodies[name], size) for name, host in hosts.items()
        }
        return ctx.alternate(label, contenders)
    finally:
        for host in hosts.values():
            host.close()


def _every_peer_runs(workload: str, body: Body, size: int, unit: str, ctx: BenchContext) -> list[Row]:
    peers = {peer.name: peer for peer in _async_peers(ctx)}
    rows = []
    for kind in _loop_kinds(ctx):
        label = f"{workload} [{kind.name}]"
        samples = _alternate_on_hosts(ctx, label, kind, {name: body for name in peers}, peers, size)
        rows.append(
            make_row(workload, kind.name, unit, LOWER_IS_BETTER, _per_call_us(samples, size), params={"calls": size})
        )
    return rows


def run_roundtrip(ctx: BenchContext) -> list[Row]:
    return _every_peer_runs("roundtrip", roundtrip_body, ctx.sizes.roundtrip_calls, "us/call", ctx)


def run_burst(ctx: BenchContext) -> list[Row]:
    return _every_peer_runs("burst", burst_body, ctx.sizes.burst_calls, "us/call", ctx)


def run_floor(ctx: BenchContext) -> list[Row]:
    size = ctx.sizes.burst_calls
    stealpool_peer = next(peer for peer in _async_peers(ctx) if peer.name == STEALPOOL)
    # A plain loop; its caller goes unused, since floor_body sends nothing to a thread.
    peers = {STEALPOOL: stealpool_peer, LOOP_ALONE: AsyncPeer(LOOP_ALONE, stdlib_run_in_executor)}
    bodies: dict[str, Body] = {STEALPOOL: burst_body, LOOP_ALONE: floor_body}
    rows = _rows_against_floor(ctx, "floor", bodies, peers, size, None, [LOOP_ALONE])
    for row in rows:
        fraction = fraction_of_floor(row, STEALPOOL, LOOP_ALONE)
        row.note = f"stealpool burst runs at {fraction:.2f} of the loop-alone rate"
    return rows


def _rows_against_floor(
    ctx: BenchContext,
    workload: str,
    bodies: dict[str, Body],
    peers: dict[str, AsyncPeer],
    size: int,
    baseline: str | None,
    floors: list[str],
) -> list[Row]:
    """A row per loop: the peers alternated, per-call medians, ratios to ``baseline``, ``floors`` for scale."""
    rows = []
    for kind in _loop_kinds(ctx):
        samples = _alternate_on_hosts(ctx, f"{workload} [{kind.name}]", kind, bodies, peers, size)
        per_call = _per_call_us(samples, size)
        rows.append(
            make_row(
                workload,
                kind.name,
                "us/call",
                LOWER_IS_BETTER,
                per_call,
                baseline=baseline,
                references=floors,
                params={"calls": size},
            )
        )
    return rows


def fraction_of_floor(row: Row, peer: str, floor: str, param: str = FRACTION_OF_FLOOR) -> float:
    """floor time / ``peer``'s time: the share of the floor's rate ``peer`` reaches, kept in the row's params."""
    fraction = row.medians[floor] / row.medians[peer]
    row.params[param.format(peer)] = fraction
    return fraction


def _anyio_peers(ctx: BenchContext) -> dict[str, AsyncPeer]:
    try:
        import anyio.to_thread

        from .anyio_floor import run_sync_inline, run_sync_resumed
    except ImportError as exc:
        ctx.note(f"anyio not importable ({exc}): anyio rows skipped")
        return {}

    def installed(loop: asyncio.AbstractEventLoop) -> Caller:
        stealpool.install(loop)
        return anyio.to_thread.run_sync

    return {
        STEALPOOL: AsyncPeer(STEALPOOL, installed),
        STOCK_ANYIO: AsyncPeer(STOCK_ANYIO, lambda loop: anyio.to_thread.run_sync),
        ANYIO_INLINE: AsyncPeer(ANYIO_INLINE, lambda loop: run_sync_inline),
        ANYIO_RESUMED: AsyncPeer(ANYIO_RESUMED, lambda loop: run_sync_resumed),
    }


def _stock_against_installed(workload: str, body: Body, size: int, ctx: BenchContext) -> list[Row]:
    peers = _anyio_peers(ctx)
    if not peers:
        return []
    floors = [ANYIO_INLINE, ANYIO_RESUMED]
    rows = _rows_against_floor(ctx, workload, {name: body for name in peers}, peers, size, STOCK_ANYIO, floors)
    for row in rows:
        inline = [fraction_of_floor(row, peer, ANYIO_INLINE) for peer in (STEALPOOL, STOCK_ANYIO)]
        resumed = [
            fraction_of_floor(row, peer, ANYIO_RESUMED, FRACTION_OF_RESUMED_FLOOR) for peer in (STEALPOOL, STOCK_ANYIO)
        ]
        row.note = (
            f"{ANYIO_NOTE}; of the no-thread floor: stealpool {inline[0]:.2f}, stock {inline[1]:.2f}; "
            f"of the resumed floor: stealpool {resumed[0]:.2f}, stock {resumed[1]:.2f}"
        )
    return rows


def run_anyio_roundtrip(ctx: BenchContext) -> list[Row]:
    return _stock_against_installed("anyio_roundtrip", roundtrip_body, ctx.sizes.roundtrip_calls, ctx)


def run_anyio_burst(ctx: BenchContext) -> list[Row]:
    return _stock_against_installed("anyio_burst", burst_body, ctx.sizes.burst_calls, ctx)
