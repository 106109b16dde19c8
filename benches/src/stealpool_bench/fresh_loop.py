"""fresh_roundtrip: sequential ``asyncio.to_thread`` calls, each sample on a new loop.

A script that calls ``asyncio.run()`` once per job gets a new loop each
time, and with it a new default executor: the stdlib starts its threads
again, and so does stealpool (install()'s shared pool retires when its last
loop closes: no thread outlives the loops that used it). Each sample is one
such loop, on the main thread, made and closed as ``asyncio.run`` does. Its
clock covers install() (stealpool only) and the calls, the first thread's
start included, but not making or closing the loop.

Two floors (``wake_floor``) answer the same loop call by call from another
process, once the loop sleeps: ``one wake-up``, spinning between calls, is
what every round trip costs whose thread needs the loop's GIL; ``two
wake-ups``, blocked between calls, adds the waking of a worker that slept,
and is what every round trip costs whose worker sleeps between calls.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Awaitable
from typing import Callable

import stealpool

from .async_workloads import fraction_of_floor
from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .loops import LoopKind, available_loop_kinds
from .peers import noop
from .results import FRACTION_OF_PARKED_FLOOR, LOWER_IS_BETTER, STDLIB, STEALPOOL, Row, make_row
from .wake_floor import WakeFloor, thread_stat_path

WORKLOAD = "fresh_roundtrip"
FLOOR = "one wake-up"
PARKED_FLOOR = "two wake-ups"
NOTE = "asyncio.to_thread(noop) on a new loop per sample; stealpool = after install()"


def run_fresh_roundtrip(ctx: BenchContext) -> list[Row]:
    calls = ctx.sizes.roundtrip_calls
    kinds, notes = available_loop_kinds()
    for note in notes:
        ctx.note(note)
    floor_available = thread_stat_path(threading.get_native_id()) is not None
    if not floor_available:
        ctx.note(
            f"{WORKLOAD}: no '{FLOOR}' or '{PARKED_FLOOR}' floor here: they read a thread's state from /proc (Linux)"
        )
    rows = []
    for kind in kinds:
        contenders: dict[str, Callable[[], float]] = {
            STEALPOOL: functools.partial(on_a_new_loop, kind, functools.partial(to_thread_after_install, calls)),
            STDLIB: functools.partial(on_a_new_loop, kind, functools.partial(to_thread, calls)),
        }
        if floor_available:
            contenders[FLOOR] = functools.partial(floor_sample, kind, calls, parked=False)
            contenders[PARKED_FLOOR] = functools.partial(floor_sample, kind, calls, parked=True)
        samples = ctx.alternate(f"{WORKLOAD} [{kind.name}]", contenders)
        per_call = {name: [seconds / calls * 1e6 for seconds in values] for name, values in samples.items()}
        row = make_row(
            WORKLOAD,
            kind.name,
            "us/call",
            LOWER_IS_BETTER,
            per_call,
            references=[FLOOR, PARKED_FLOOR],
            params={"calls": calls},
            note=NOTE,
        )
        if floor_available:
            spinning = (f"{peer} {fraction_of_floor(row, peer, FLOOR):.2f}" for peer in (STEALPOOL, STDLIB))
            parked = (
                f"{peer} {fraction_of_floor(row, peer, PARKED_FLOOR, FRACTION_OF_PARKED_FLOOR):.2f}"
                for peer in (STEALPOOL, STDLIB)
            )
            row.note += "; of the one-wake-up floor: " + ", ".join(spinning)
            row.note += "; of the two-wake-up floor: " + ", ".join(parked)
        rows.append(row)
    return rows


def on_a_new_loop(kind: LoopKind, job: Callable[[], Awaitable[float]]) -> float:
    """``job()``'s result on a loop made for it and closed after it, as ``asyncio.run`` does."""
    loop = kind.new_loop()
    asyncio.set_event_loop(loop)
    try:
        try:
            seconds = loop.run_until_complete(asyncio.wait_for(job(), SAMPLE_TIMEOUT_S))
        except asyncio.TimeoutError:
            raise BenchHang(f"{WORKLOAD}: a sample did not finish within {SAMPLE_TIMEOUT_S:.0f}s") from None
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        return seconds
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def to_thread(calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        await asyncio.to_thread(noop)
    return time.perf_counter() - started


async def to_thread_after_install(calls: int) -> float:
    started = time.perf_counter()
    executor = stealpool.install()
    for _ in range(calls):
        await asyncio.to_thread(noop)
    seconds = time.perf_counter() - started
    served = executor.stats()["completed"]
    if served < calls:
        raise RuntimeError(f"{WORKLOAD}: stealpool ran {served} of {calls} calls: install() did not take")
    return seconds


def floor_sample(kind: LoopKind, calls: int, parked: bool) -> float:
    # Made on this thread, whose loop it watches; it runs (spinning a core, unless parked) only for this sample.
    with WakeFloor(parked) as floor:

        async def answered_calls() -> float:
            detach = floor.attach(asyncio.get_running_loop())
            try:
                started = time.perf_counter()
                for _ in range(calls):
                    await floor.call()
                return time.perf_counter() - started
            finally:
                detach()

        return on_a_new_loop(kind, answered_calls)
