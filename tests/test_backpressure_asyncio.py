"""``max_queued`` from asyncio: ``pool.run`` and ``run_in_executor`` wait
for room without blocking the loop, first come first served, on the stock
loop and uvloop (see ``stealpool/_backpressure.py``)."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time

import pytest
import stealpool

BOUND = 60.0


async def held_pool(pool):
    """Holds the pool's only worker until the returned event is set."""
    release = threading.Event()
    started = threading.Event()

    def hold():
        started.set()
        release.wait(BOUND)

    pool.submit(hold)
    # Polled: the loop's default executor may be this very pool.
    for _ in range(int(BOUND / 0.01)):
        if started.is_set():
            return release
        await asyncio.sleep(0.01)
    raise AssertionError("the holding task never started")


async def until_waiting(pool, count):
    for _ in range(int(BOUND / 0.01)):
        if pool.stats()["waiting_submitters"] == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(pool.stats())


def test_run_waits_for_room_first_come_first_served_without_blocking_the_loop(run):
    order = []

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1) as pool:
            release = await held_pool(pool)
            calls = [asyncio.ensure_future(pool.run(order.append, i)) for i in range(4)]
            # One holds the only place; three wait, and the loop still runs.
            await until_waiting(pool, 3)
            release.set()
            await asyncio.gather(*calls)
            assert pool.stats()["waiting_submitters"] == 0

    run(main)
    assert order == [0, 1, 2, 3]


def test_a_call_cancelled_while_waiting_for_room_leaves_no_trace(run):
    ran = []

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1) as pool:
            release = await held_pool(pool)
            first = asyncio.ensure_future(pool.run(ran.append, "first"))
            cancelled = asyncio.ensure_future(pool.run(ran.append, "cancelled"))
            await until_waiting(pool, 1)
            cancelled.cancel()
            await until_waiting(pool, 0)
            release.set()
            await first
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            # Its place was never lost: the next call gets one at once.
            assert pool.submit_nowait(ran.append, "after").result(BOUND) is None

    run(main)
    assert ran == ["first", "after"]


def test_a_call_cancelled_after_its_place_was_granted_gives_the_place_back(run):
    ran = []

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1) as pool:
            release = await held_pool(pool)
            queued = pool.submit(ran.append, "queued")
            waiting = asyncio.ensure_future(pool.run(ran.append, "cancelled"))
            await until_waiting(pool, 1)
            # Without yielding to the loop: the worker takes the queued task,
            # the place it frees is granted to the waiting call (the grant
            # is on its way to the loop), and then the call is cancelled.
            release.set()
            deadline = time.monotonic() + BOUND
            while not queued.done():
                assert time.monotonic() < deadline, "the queued task never ran"
                time.sleep(0.001)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            # The grant, reaching the loop after the cancel, finds the call
            # cancelled and gives the place back: at once, not after BOUND.
            for _ in range(500):
                try:
                    after = pool.submit_nowait(ran.append, "after")
                    break
                except stealpool.QueueFull:
                    await asyncio.sleep(0.01)
            else:
                raise AssertionError("the granted place never came back")
            assert after.result(BOUND) is None

    run(main)
    assert ran == ["queued", "after"]


def test_shutdown_wakes_waiting_coroutines_with_the_stdlib_error(run):
    async def main():
        pool = stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1)
        release = await held_pool(pool)
        pool.submit(pow, 2, 0)
        waiting = [asyncio.ensure_future(pool.run(pow, 2, i)) for i in range(3)]
        await until_waiting(pool, 3)
        pool.shutdown(wait=False)
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        assert [str(error) for error in outcomes] == ["cannot schedule new futures after shutdown"] * 3
        release.set()
        pool.shutdown()

    run(main)


def test_run_in_executor_on_an_installed_loop_waits_for_room(run):
    order = []

    async def main():
        pool = stealpool.install(max_workers=1, max_queued=1)
        loop = asyncio.get_running_loop()
        release = await held_pool(pool)
        calls = [loop.run_in_executor(None, order.append, i) for i in range(3)]
        await until_waiting(pool, 2)
        release.set()
        await asyncio.gather(*calls)

    run(main)
    assert order == [0, 1, 2]


def test_run_keeps_the_callers_context_when_it_waited(run):
    import contextvars

    variable = contextvars.ContextVar("variable")

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1) as pool:
            release = await held_pool(pool)
            variable.set("caller")
            first = asyncio.ensure_future(pool.run(variable.get))
            waited = asyncio.ensure_future(pool.run(variable.get))
            await until_waiting(pool, 1)
            release.set()
            return await first, await waited

    assert run(main) == ("caller", "caller")


def test_a_place_granted_to_a_call_the_pool_then_refuses_is_given_back_once(run):
    async def main():
        pool = stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1)
        release = await held_pool(pool)
        pool.submit(pow, 2, 0)
        waiting = asyncio.ensure_future(pool.run(pow, 2, 1))
        await until_waiting(pool, 1)
        release.set()
        # Blocks the loop on purpose: the worker grants the place, and the
        # pool shuts down before the loop gets to start the call.
        for _ in range(int(BOUND / 0.01)):
            if pool.stats()["waiting_submitters"] == 0:
                break
            time.sleep(0.01)
        pool.shutdown(wait=False)
        with pytest.raises(RuntimeError, match="^cannot schedule new futures after shutdown$"):
            await waiting
        pool.shutdown()
        return pool

    pool = run(main)
    # Once nothing of the loop holds what owned the place, it is back, once.
    gc.collect()
    assert pool._room.places.queued == 0


def test_coroutines_left_waiting_on_a_closed_loop_are_dropped_without_recursion(new_loop, monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    pool = stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1)
    loop = new_loop()
    many = 1500

    async def wait_in_line():
        release = await held_pool(pool)
        queued = pool.submit(pow, 2, 0)
        for i in range(many):
            asyncio.ensure_future(pool.run(pow, 2, i))
        await until_waiting(pool, many)
        return release, queued

    release, queued = loop.run_until_complete(wait_in_line())
    loop.close()
    release.set()
    # The queued task gives its place back before it runs, and with it every
    # request of the closed loop is withdrawn.
    assert queued.result(BOUND) == 1
    assert unraisable == []
    assert pool.stats()["waiting_submitters"] == 0
    assert pool.submit_nowait(pow, 2, 5).result(BOUND) == 32
    pool.shutdown()
    assert pool._room.places.queued == 0
