"""The anyio rows' no-thread floor: it does anyio's loop-side work and runs the call inline.

Behaviour only: the floor must reach the result anyio's own call reaches,
on the loop's thread, and leave the limiter as it found it; the rows must
name it and put each peer against it. No clock is read.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

to_thread = pytest.importorskip("anyio.to_thread")
sniffio = pytest.importorskip("sniffio")

from stealpool_bench import report  # noqa: E402
from stealpool_bench.anyio_floor import run_sync_inline  # noqa: E402
from stealpool_bench.async_workloads import ANYIO_INLINE, STOCK_ANYIO, run_anyio_burst  # noqa: E402
from stealpool_bench.context import QUICK, BenchContext, Progress  # noqa: E402
from stealpool_bench.results import STEALPOOL  # noqa: E402

request_id = contextvars.ContextVar("request_id", default="unset")


def describe_call(offset: int) -> tuple[str, object, int]:
    """What a call sees: the caller's context variable, the async library set, its argument."""
    seen = request_id.get()
    request_id.set("changed by the call")
    return seen, sniffio.current_async_library_cvar.get(), offset + 1


def test_reaches_the_result_anyios_worker_thread_reaches_without_a_thread() -> None:
    async def scenario() -> None:
        request_id.set("caller's")
        loop_thread = threading.get_ident()
        threads: list[int] = []

        def call(offset: int) -> tuple[str, object, int]:
            threads.append(threading.get_ident())
            return describe_call(offset)

        inline = await run_sync_inline(call, 41)
        threaded = await to_thread.run_sync(call, 41)
        assert inline == threaded == ("caller's", None, 42)
        assert threads[0] == loop_thread and threads[1] != loop_thread
        assert request_id.get() == "caller's"  # the call ran in a copy of the context

    asyncio.run(scenario())


def test_returns_the_limiter_token_whether_the_call_returns_or_raises() -> None:
    def fail() -> None:
        raise KeyError("inside the call")

    async def scenario() -> None:
        limiter = to_thread.current_default_thread_limiter()
        await run_sync_inline(int)
        with pytest.raises(KeyError, match="inside the call"):
            await run_sync_inline(fail)
        assert limiter.borrowed_tokens == 0

    asyncio.run(scenario())


def test_waits_for_a_token_when_the_limiter_is_full() -> None:
    async def scenario() -> None:
        limiter = to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        holder = object()
        await limiter.acquire_on_behalf_of(holder)
        ran: list[str] = []
        waiting = asyncio.ensure_future(run_sync_inline(ran.append, "ran"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert ran == [] and not waiting.done()
        limiter.release_on_behalf_of(holder)
        await waiting
        assert ran == ["ran"]

    asyncio.run(scenario())


def test_anyio_rows_name_the_floor_and_put_each_peer_against_it() -> None:
    ctx = BenchContext(sizes=QUICK, rounds=1, progress=Progress(enabled=False))
    rows = run_anyio_burst(ctx)
    assert rows, "no anyio rows"
    for row in rows:
        assert set(row.medians) == {STEALPOOL, STOCK_ANYIO, ANYIO_INLINE}
        assert row.references == [ANYIO_INLINE] and ANYIO_INLINE not in row.ratios
        for peer in (STEALPOOL, STOCK_ANYIO):
            fraction = row.params[f"{peer}_fraction_of_floor"]
            assert fraction == pytest.approx(row.medians[ANYIO_INLINE] / row.medians[peer])
        assert "of the no-thread floor: stealpool " in row.note
    data = report.build_report(rows, report.describe_machine(), {}, [])
    assert "no thread" in data["peers"][ANYIO_INLINE]
