"""The anyio rows' no-thread floors: anyio's loop-side work with the call run on the loop.

Behaviour only: each floor must reach the result anyio's own call reaches,
on the loop's thread, and leave the limiter as it found it; the resumed one
must suspend its caller as an offload does and the inline one must not; the
rows must name both and put each peer against them. No clock is read.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

to_thread = pytest.importorskip("anyio.to_thread")
sniffio = pytest.importorskip("sniffio")

from stealpool_bench import report  # noqa: E402
from stealpool_bench.anyio_floor import run_sync_inline, run_sync_resumed  # noqa: E402
from stealpool_bench.async_workloads import ANYIO_INLINE, ANYIO_RESUMED, STOCK_ANYIO, run_anyio_burst  # noqa: E402
from stealpool_bench.context import QUICK, BenchContext, Progress  # noqa: E402
from stealpool_bench.results import STEALPOOL  # noqa: E402

request_id = contextvars.ContextVar("request_id", default="unset")


def describe_call(offset: int) -> tuple[str, object, int]:
    """What a call sees: the caller's context variable, the async library set, its argument."""
    seen = request_id.get()
    request_id.set("changed by the call")
    return seen, sniffio.current_async_library_cvar.get(), offset + 1


FLOORS = [run_sync_inline, run_sync_resumed]
FLOOR_IDS = ["inline", "resumed"]


@pytest.mark.parametrize("floor", FLOORS, ids=FLOOR_IDS)
def test_reaches_the_result_anyios_worker_thread_reaches_without_a_thread(floor) -> None:
    async def scenario() -> None:
        request_id.set("caller's")
        loop_thread = threading.get_ident()
        threads: list[int] = []

        def call(offset: int) -> tuple[str, object, int]:
            threads.append(threading.get_ident())
            return describe_call(offset)

        inline = await floor(call, 41)
        threaded = await to_thread.run_sync(call, 41)
        assert inline == threaded == ("caller's", None, 42)
        assert threads[0] == loop_thread and threads[1] != loop_thread
        assert request_id.get() == "caller's"  # the call ran in a copy of the context

    asyncio.run(scenario())


@pytest.mark.parametrize("floor", FLOORS, ids=FLOOR_IDS)
def test_returns_the_limiter_token_whether_the_call_returns_or_raises(floor) -> None:
    def fail() -> None:
        raise KeyError("inside the call")

    async def scenario() -> None:
        limiter = to_thread.current_default_thread_limiter()
        await floor(int)
        with pytest.raises(KeyError, match="inside the call"):
            await floor(fail)
        assert limiter.borrowed_tokens == 0

    asyncio.run(scenario())


@pytest.mark.parametrize("floor", FLOORS, ids=FLOOR_IDS)
def test_waits_for_a_token_when_the_limiter_is_full(floor) -> None:
    async def scenario() -> None:
        limiter = to_thread.current_default_thread_limiter()
        limiter.total_tokens = 1
        holder = object()
        await limiter.acquire_on_behalf_of(holder)
        ran: list[str] = []
        waiting = asyncio.ensure_future(floor(ran.append, "ran"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert ran == [] and not waiting.done()
        limiter.release_on_behalf_of(holder)
        await waiting
        assert ran == ["ran"]

    asyncio.run(scenario())


@pytest.mark.parametrize(("floor", "passes_through_the_loop"), [(run_sync_inline, False), (run_sync_resumed, True)])
def test_only_the_resumed_floor_hands_its_result_back_through_the_loop(floor, passes_through_the_loop) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        order: list[str] = []

        def call() -> None:
            # Queued by the call itself: it runs before the caller resumes only
            # if the result comes back by a later pass of the loop.
            loop.call_soon(order.append, "loop pass")

        await floor(call)
        order.append("caller resumed")
        await asyncio.sleep(0)
        expected = ["loop pass", "caller resumed"] if passes_through_the_loop else ["caller resumed", "loop pass"]
        assert order == expected

    asyncio.run(scenario())


def test_anyio_rows_name_the_floors_and_put_each_peer_against_them() -> None:
    ctx = BenchContext(sizes=QUICK, rounds=1, progress=Progress(enabled=False))
    rows = run_anyio_burst(ctx)
    assert rows, "no anyio rows"
    for row in rows:
        assert set(row.medians) == {STEALPOOL, STOCK_ANYIO, ANYIO_INLINE, ANYIO_RESUMED}
        assert row.references == [ANYIO_INLINE, ANYIO_RESUMED] and set(row.ratios) == {STEALPOOL}
        for peer in (STEALPOOL, STOCK_ANYIO):
            fraction = row.params[f"{peer}_fraction_of_floor"]
            assert fraction == pytest.approx(row.medians[ANYIO_INLINE] / row.medians[peer])
            resumed = row.params[f"{peer}_fraction_of_resumed_floor"]
            assert resumed == pytest.approx(row.medians[ANYIO_RESUMED] / row.medians[peer])
        assert "of the no-thread floor: stealpool " in row.note
        assert "of the resumed floor: stealpool " in row.note
    data = report.build_report(rows, report.describe_machine(), {}, [])
    assert "no thread" in data["peers"][ANYIO_INLINE] and "no thread" in data["peers"][ANYIO_RESUMED]
