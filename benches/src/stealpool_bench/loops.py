"""Event loops to benchmark on, each kept alive in a thread of its own.

Alternating peers means alternating loops, and one thread can only run one
loop at a time. Running each loop in its own thread under one long-lived
root task (fed samples through a queue) keeps per-loop state warm across
rounds: the stdlib's default executor threads, stealpool's bridge, and
anyio's worker threads, which anyio ties to the root task and would
otherwise start afresh for every ``run_until_complete``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import time
from collections.abc import Awaitable
from typing import Any, Callable, NamedTuple, Optional

from .context import SAMPLE_TIMEOUT_S, BenchHang

# How a peer sends one call to a thread: ``await call(fn)``.
Caller = Callable[[Callable[[], Any]], Awaitable[Any]]
# One sample's work given the peer's caller and a size.
Body = Callable[[Caller, int], Awaitable[None]]
# What a loop's thread is asked to run (None: stop), and where the answer goes.
Job = Callable[[Caller], Awaitable[float]]
Request = tuple[Optional[Job], "concurrent.futures.Future[float]"]


class LoopKind(NamedTuple):
    name: str
    new_loop: Callable[[], asyncio.AbstractEventLoop]


def available_loop_kinds() -> tuple[list[LoopKind], list[str]]:
    """The stock loop, and uvloop where it imports; plus notes on what is missing."""
    kinds = [LoopKind("asyncio", asyncio.new_event_loop)]
    notes: list[str] = []
    try:
        import uvloop
    except ImportError as exc:
        notes.append(f"uvloop not importable ({exc}): async workloads run on the stock loop only")
    else:
        kinds.append(LoopKind("uvloop", uvloop.new_event_loop))
    return kinds, notes


class LoopHost:
    """A loop in its own thread, running samples one at a time on request."""

    def __init__(self, kind: LoopKind, prepare: Callable[[asyncio.AbstractEventLoop], Caller], name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue[Request] | None = None
        self._ready = threading.Event()
        # The peer's setup error, appended by the loop's thread while __init__ waits (a list: an
        # Optional set from another thread reads as always None to a type checker's narrowing).
        self._startup_errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run_loop, args=(kind, prepare), name=f"bench-{name}-{kind.name}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._startup_errors:
            self._thread.join()
            raise self._startup_errors[0]

    def time(self, body: Body, size: int) -> float:
        """Seconds one ``body(call, size)`` takes on this loop (loop overhead excluded)."""

        async def timed(call: Caller) -> float:
            # Garbage from the previous sample should not be collected on this one's clock.
            gc.collect()
            started = time.perf_counter()
            await body(call, size)
            return time.perf_counter() - started

        return self._request(timed)

    def close(self) -> None:
        """Ends the root task, shuts down the loop's default executor, closes the loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._request(None)
        self._thread.join(SAMPLE_TIMEOUT_S)
        if self._thread.is_alive():
            raise BenchHang(f"{self.name}: the loop did not shut down within {SAMPLE_TIMEOUT_S:.0f}s")

    def _request(self, job: Job | None) -> float:
        assert self._loop is not None and self._inbox is not None
        reply: concurrent.futures.Future[float] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._inbox.put_nowait, (job, reply))
        try:
            return reply.result(timeout=SAMPLE_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            raise BenchHang(f"{self.name}: a sample did not finish within {SAMPLE_TIMEOUT_S:.0f}s") from None

    def _run_loop(self, kind: LoopKind, prepare: Callable[[asyncio.AbstractEventLoop], Caller]) -> None:
        loop = kind.new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(prepare))
            loop.run_until_complete(loop.shutdown_asyncgens())
            if hasattr(loop, "shutdown_default_executor"):
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    async def _serve(self, prepare: Callable[[asyncio.AbstractEventLoop], Caller]) -> None:
        # Samples run inside this one task, so every sample sees the same root task.
        try:
            loop = asyncio.get_running_loop()
            call = prepare(loop)
            inbox: asyncio.Queue[Request] = asyncio.Queue()
        except BaseException as exc:
            self._startup_errors.append(exc)
            self._ready.set()
            return
        self._loop, self._inbox = loop, inbox
        self._ready.set()
        while True:
            job, reply = await inbox.get()
            if job is None:
                reply.set_result(0.0)
                return
            try:
                result = await job(call)
            except BaseException as exc:  # reported to the requesting thread, which re-raises
                reply.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                reply.set_result(result)
