"""The tasks of the differential fuzzer (test_differential_fuzz.py) and what
each must end with. Every task is deterministic: what it returns or raises
depends on its arguments alone, and where order matters it waits on an
event the program (or its parent task) controls, never on a sleep. Each
wait is bounded so that a bug shows as a failed check, not a hang."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION
from typing import Any

from stall_meter import machine_stall

# A task waiting on an event gives up after this (a check then fails), and a
# program's futures must all have ended this long after its gates opened:
# in a correct run everything ends within milliseconds of that.
BOUND = 10.0
# How late a timed wait may return, beyond any stretch in which the whole
# machine stalled (stall_meter.py): generous, for loaded CI machines.
TOLERANCE = 2.0
BROKEN = "A thread initializer failed, the thread pool is not usable anymore"
SHUT_DOWN = "cannot schedule new futures after shutdown"


def failing_initializer() -> None:
    raise ValueError("initializer failed")


def outcome(future: concurrent.futures.Future[Any]) -> tuple[Any, ...]:
    """A done future's outcome in comparable form: what the stdlib
    guarantees (the value, or the exception's type and message)."""
    if future.cancelled():
        return ("cancelled",)
    error = future.exception(timeout=0)
    if error is None:
        return ("value", future.result(timeout=0))
    return ("error", type(error).__name__, str(error))


def call_outcome(call: Any) -> tuple[Any, ...]:
    """``outcome`` of calling ``call()`` directly."""
    try:
        return ("value", call())
    except concurrent.futures.CancelledError:
        return ("cancelled",)
    except Exception as error:
        return ("error", type(error).__name__, str(error))


class Task:
    """``value`` or ``ValueError(f"task {number}")``, after ``gate`` opens if
    it has one; records on ``started`` that it ran."""

    def __init__(self, number: int, fails: bool, gate: threading.Event | None, started: set[int]) -> None:
        self.number = number
        self.fails = fails
        self.gate = gate
        self.started = started

    def expected(self) -> tuple[Any, ...]:
        if self.fails:
            return ("error", "ValueError", f"task {self.number}")
        return ("value", self.number)

    def __call__(self) -> int:
        self.started.add(self.number)
        if self.gate is not None and not self.gate.wait(BOUND):
            raise AssertionError(f"gate of task {self.number} never opened")
        if self.fails:
            raise ValueError(f"task {self.number}")
        return self.number


def child_values(count: int, failing: int | None) -> list[tuple[Any, ...]]:
    return [
        ("error", "ValueError", f"child {i}") if i == failing else ("value", i * 10)  # what child() gives
        for i in range(count)
    ]


def child(i: int, failing: int | None) -> int:
    if i == failing:
        raise ValueError(f"child {i}")
    return i * 10


def nested_untimed_wait(
    pool: concurrent.futures.Executor, count: int, failing: int | None, cancel: int | None, how: str
) -> str:
    """Submits ``count`` children from the task and waits on them without a
    timeout, as ``how`` says; returns "ok" or what went wrong. On the stdlib
    this can deadlock (every worker waiting): stealpool's promise only."""
    expected = child_values(count, failing)
    children = [pool.submit(child, i, failing) for i in range(count)]
    cancelled = set()
    if cancel is not None and cancel < count and children[cancel].cancel():
        cancelled.add(cancel)

    def right(i: int) -> bool:
        # shutdown(cancel_futures=True) from the program may cancel any queued child.
        may_be_cancelled = i in cancelled or pool._shutdown  # type: ignore[attr-defined]
        return outcome(children[i]) == expected[i] or (may_be_cancelled and children[i].cancelled())

    if how in ("map", "map_buffered"):
        buffersize = {"buffersize": 2} if how == "map_buffered" else {}
        try:
            got: tuple[Any, ...] = ("value", list(pool.map(child, range(count), [failing] * count, **buffersize)))
        except ValueError as error:  # a child's; anything else is the parent's outcome
            got = ("error", "ValueError", str(error))
        if failing is not None and failing < count:
            want: tuple[Any, ...] = ("error", "ValueError", f"child {failing}")
        else:
            want = ("value", [value for _, value in expected])
        return "ok" if got == want else f"map gave {got}, not {want}"
    if how == "result":
        for i, future in enumerate(children):
            call_outcome(future.result)
            if not right(i):
                return f"child {i} ended {outcome(children[i])}"
        return "ok"
    if how == "as_completed":
        seen = list(concurrent.futures.as_completed(children))
        if sorted(map(id, seen)) != sorted(map(id, children)):
            return "as_completed did not yield every child once"
    else:
        done, not_done = concurrent.futures.wait(children, return_when=how)
        if how == FIRST_COMPLETED and not done:
            return "FIRST_COMPLETED returned with nothing done"
        if how == FIRST_EXCEPTION and not_done and not any(outcome(f)[0] == "error" for f in done):
            return "FIRST_EXCEPTION returned early without an exception"
        if how not in (FIRST_COMPLETED, FIRST_EXCEPTION) and not_done:
            return "ALL_COMPLETED returned with children not done"
        # Only the done ones are known to have ended.
        return "ok" if all(right(i) for i in range(count) if children[i] in done) else "a done child ended wrong"
    return "ok" if all(right(i) for i in range(count)) else "a child ended wrong"


def timed_wait_gives_up(future: concurrent.futures.Future[Any], how: str, timeout: float) -> bool:
    if how == "wait":
        return future in concurrent.futures.wait([future], timeout=timeout).not_done
    try:
        if how == "result":
            future.result(timeout=timeout)
        elif how == "exception":
            future.exception(timeout=timeout)
        else:
            next(concurrent.futures.as_completed([future], timeout=timeout))
    except concurrent.futures.TimeoutError:
        return True
    return False


def lateness(what: str, timeout: float | None, started: float) -> str | None:
    """Why a wait with ``timeout`` that began at ``started`` and just returned
    was too late, or ``None``."""
    ended = time.monotonic()
    waited = ended - started
    if timeout is None:
        return None
    stalled = machine_stall(started, ended)
    if waited <= timeout + TOLERANCE + stalled:
        return None
    return f"{what}(timeout={timeout}) took {waited:.2f}s ({stalled:.2f}s of it with the machine stalled)"


def nested_timed_wait(pool: concurrent.futures.Executor, how: str, timeout: float) -> str:
    """Waits ``timeout`` on a child that finishes only after this wait: it
    must give up in time on either pool, and the child then finishes."""
    released = threading.Event()
    # Long enough that a wait running it inline overruns TOLERANCE, short so
    # that finding (and shrinking) such a bug takes seconds a program.
    waited_on = pool.submit(released.wait, 2 * TOLERANCE)
    started = time.monotonic()
    gave_up = timed_wait_gives_up(waited_on, how, timeout)
    late = lateness(how, timeout, started)
    released.set()
    # Cancelled by the program's shutdown(cancel_futures=True), the child is
    # done: on stealpool at once, on the stdlib once a worker dequeues it.
    if not gave_up and not waited_on.cancelled():
        return f"{how}(timeout={timeout}) did not give up"
    return late or "ok"
