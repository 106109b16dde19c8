"""Workloads that await no-ops from a coroutine: per-call overhead of each peer.

roundtrip  one call at a time, N times: latency of a single hop and back.
burst      N calls gathered at once: throughput when calls pile up.
floor      N plain futures resolved by the loop alone, no threads: the best
           any executor bridge could do, against which stealpool's burst is put.
"""

from __future__ import annotations

import asyncio
from typing import Callable, Dict, List

from .context import BenchContext
from .loops import Body, Caller, LoopHost, LoopKind, available_loop_kinds
from .peers import AsyncPeer, stdlib_run_in_executor, available_async_peers, noop
from .results import STEALPOOL, Row, make_row
from .stats import LOWER_IS_BETTER

LOOP_ALONE = "loop alone"


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


def _loop_kinds(ctx: BenchContext) -> List[LoopKind]:
    kinds, notes = available_loop_kinds()
    for note in notes:
        ctx.note(note)
    return kinds


def _async_peers(ctx: BenchContext) -> List[AsyncPeer]:
    peers, notes = available_async_peers()
    for note in notes:
        ctx.note(note)
    return peers


def _per_call_us(samples: Dict[str, List[float]], calls: int) -> Dict[str, List[float]]:
    return {name: [seconds / calls * 1e6 for seconds in values] for name, values in samples.items()}


def _alternate_on_hosts(
    ctx: BenchContext, label: str, kind: LoopKind, bodies: Dict[str, Body], peers: Dict[str, AsyncPeer], size: int
) -> Dict[str, List[float]]:
    hosts: Dict[str, LoopHost] = {}
    try:
        for name, peer in peers.items():
            hosts[name] = LoopHost(kind, peer.prepare, name)
        contenders: Dict[str, Callable[[], float]] = {
            name: (lambda host=host, body=bodies[name]: host.time(body, size)) for name, host in hosts.items()
        }
        return ctx.alternate(label, contenders)
    finally:
        for host in hosts.values():
            host.close()


def _every_peer_runs(workload: str, body: Body, size: int, unit: str, ctx: BenchContext) -> List[Row]:
    peers = {peer.name: peer for peer in _async_peers(ctx)}
    rows = []
    for kind in _loop_kinds(ctx):
        label = "{} [{}]".format(workload, kind.name)
        samples = _alternate_on_hosts(ctx, label, kind, {name: body for name in peers}, peers, size)
        rows.append(
            make_row(workload, kind.name, unit, LOWER_IS_BETTER, _per_call_us(samples, size), params={"calls": size})
        )
    return rows


def run_roundtrip(ctx: BenchContext) -> List[Row]:
    return _every_peer_runs("roundtrip", roundtrip_body, ctx.sizes.roundtrip_calls, "us/call", ctx)


def run_burst(ctx: BenchContext) -> List[Row]:
    return _every_peer_runs("burst", burst_body, ctx.sizes.burst_calls, "us/call", ctx)


def run_floor(ctx: BenchContext) -> List[Row]:
    size = ctx.sizes.burst_calls
    stealpool_peer = next(peer for peer in _async_peers(ctx) if peer.name == STEALPOOL)
    # A plain loop; its caller goes unused, since floor_body sends nothing to a thread.
    peers = {STEALPOOL: stealpool_peer, LOOP_ALONE: AsyncPeer(LOOP_ALONE, stdlib_run_in_executor)}
    bodies: Dict[str, Body] = {STEALPOOL: burst_body, LOOP_ALONE: floor_body}
    rows = []
    for kind in _loop_kinds(ctx):
        label = "floor [{}]".format(kind.name)
        samples = _alternate_on_hosts(ctx, label, kind, bodies, peers, size)
        row = make_row(
            "floor", kind.name, "us/call", LOWER_IS_BETTER, _per_call_us(samples, size),
            baseline=None, references=[LOOP_ALONE], params={"calls": size},
        )
        # floor time / stealpool time: the share of the loop's own completion rate stealpool reaches.
        fraction = row.medians[LOOP_ALONE] / row.medians[STEALPOOL]
        row.params["stealpool_fraction_of_floor"] = fraction
        row.note = "stealpool burst runs at {:.2f} of the loop-alone rate".format(fraction)
        rows.append(row)
    return rows
