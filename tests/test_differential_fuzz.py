"""The differential fuzzer: random programs run on the stdlib's
``ThreadPoolExecutor`` and on stealpool's side by side, each step on both.

Hypothesis draws the programs (a ``RuleBasedStateMachine``): submits from
outside and from tasks, cancels, ``result``/``exception`` with and without
timeouts, ``wait`` in its three modes, ``as_completed``, ``map`` (with
``buffersize`` on stealpool, and on the stdlib from 3.14), ``max_queued``
with ``submit_nowait``/``submit_within``, shutdown with and without
``cancel_futures``, and pools whose initializer fails. Which task a worker
runs when is the pools' business, so what is compared is what the stdlib
guarantees whatever the schedule: every future ends, with its task's value
or exception (type and message) or cancelled where a cancel said so (a
cancelled task never ran); refusals have the stdlib's type and message;
timed waits return within ``TOLERANCE`` of their timeout (plus any stretch
in which the whole machine stalled, ``stall_meter.py``); the properties of
each wait mode hold; no thread outlives shutdown. Every check runs on the
stdlib too, so a check that the stdlib fails is a wrong check, not a bug.
On stealpool alone: nested waits the stdlib would deadlock on complete, and
no place leaks (``stats()``, a ``submit_nowait`` once the pool drained).

A failure prints the shortest program hypothesis found. ``scripts/test``
runs a budget of programs (about a minute); ``STEALPOOL_STRESS=long`` runs
many more (``STEALPOOL_FUZZ_PROGRAMS`` sets the number exactly), in batches.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import sys
import threading
import time
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION
from typing import Callable

import pytest
import stall_meter
import stealpool
from fuzz_tasks import (
    BOUND,
    BROKEN,
    SHUT_DOWN,
    Task,
    call_outcome,
    child,
    failing_initializer,
    lateness,
    nested_timed_wait,
    nested_untimed_wait,
    outcome,
)

# The release-wheel check (scripts/test-wheel) installs only the packages
# most tests need; scripts/test installs hypothesis.
pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

LONG = os.environ.get("STEALPOOL_STRESS") == "long"
PROGRAMS = int(os.environ.get("STEALPOOL_FUZZ_PROGRAMS", 20000 if LONG else 300))
STEPS_PER_PROGRAM = 30
TIMEOUTS = st.sampled_from([0, 0.01, 0.05])
STDLIB_HAS_BUFFERSIZE = sys.version_info >= (3, 14)

# Programs and steps run in this process, for the report of a long run.
ran = {"programs": 0, "steps": 0}


class Submitted:
    """One submission of a program: its future on each pool that took it."""

    def __init__(self, expected: tuple[object, ...], submits_inside: bool = False) -> None:
        self.expected = expected
        self.submits_inside = submits_inside
        self.futures: dict[str, concurrent.futures.Future[object]] = {}
        self.task_number: int | None = None
        # The pools whose cancel() of this future returned True.
        self.cancelled: set[str] = set()


class DifferentialProgram(RuleBasedStateMachine):
    submitted = Bundle("submitted")

    @initialize(
        max_workers=st.integers(1, 4),
        max_queued=st.none() | st.integers(1, 3),
        breaks=st.sampled_from([False] * 9 + [True]),
    )
    def make_pools(self, max_workers, max_queued, breaks):
        ran["programs"] += 1
        stall_meter.start()
        initializer = failing_initializer if breaks else None
        self.breaks = breaks
        self.max_queued = max_queued
        self.pools = {
            "stdlib": concurrent.futures.ThreadPoolExecutor(max_workers, initializer=initializer),
            "stealpool": stealpool.ThreadPoolExecutor(max_workers, initializer=initializer, max_queued=max_queued),
        }
        self.started = {name: set() for name in self.pools}
        self.gates = [threading.Event(), threading.Event()]
        self.numbers = itertools.count()
        self.everything: list[Submitted] = []
        self.shut_down = False
        self.cancelled_by_shutdown = False
        # What a pool swallows (an exception no caller can see) fails the program too.
        self.swallowed: list[str] = []
        self.hooks = (sys.unraisablehook, threading.excepthook)
        sys.unraisablehook = lambda report: self.swallowed.append(f"unraisable {report.exc_value!r}")
        threading.excepthook = lambda report: self.swallowed.append(f"{report.exc_value!r} in {report.thread}")

    # -- what may happen -----------------------------------------------------

    def gates_open(self) -> bool:
        return all(gate.is_set() for gate in self.gates)

    def allowed_endings(self, entry: Submitted, name: str) -> set[tuple[object, ...]]:
        allowed = {entry.expected}
        if name in entry.cancelled or self.cancelled_by_shutdown:
            allowed.add(("cancelled",))
        if self.breaks:
            allowed.add(("error", "BrokenThreadPool", BROKEN))
        if entry.submits_inside and self.shut_down:
            allowed.add(("error", "RuntimeError", SHUT_DOWN))
        if entry.submits_inside and self.cancelled_by_shutdown:
            # map inside a task raises its cancelled input's CancelledError, on both pools.
            allowed.add(("error", "CancelledError", ""))
        return allowed

    def check_ending(self, entry: Submitted, name: str, ending: tuple[object, ...]) -> None:
        assert ending in self.allowed_endings(entry, name), f"{name}: {ending} where {entry.expected} was due"

    def check_refusal(self, name: str, refusal: tuple[object, ...], may_be_full: bool) -> None:
        allowed = set()
        if self.shut_down:
            allowed.add(("error", "RuntimeError", SHUT_DOWN))
        if self.breaks:
            allowed.add(("error", "BrokenThreadPool", BROKEN))
        if may_be_full and refusal[1] == "QueueFull":
            return  # how full the queue was is the schedule's business
        assert refusal in allowed, f"{name} refused a submit with {refusal}"
        if self.shut_down and not self.breaks:
            # Scheduling plays no part in this one: both pools refuse alike.
            assert refusal == ("error", "RuntimeError", SHUT_DOWN)

    def untimed_waits_end(self, entries: list[Submitted]) -> bool:
        """Whether an untimed wait on ``entries`` must end: every task can
        run, and none is a future the stdlib's pool cancelled without ever
        notifying its waiters (``shutdown(cancel_futures=True)``, or a
        cancelled future of a pool that breaks: neither pool notifies those,
        as the stdlib)."""
        if not self.gates_open() or self.cancelled_by_shutdown:
            return False
        return not (self.breaks and any(entry.cancelled for entry in entries))

    def futures_on_each_pool(self, entries: list[Submitted]):
        """(pool name, {future: entry}) for each pool that took any of ``entries``."""
        for name in self.pools:
            futures = {entry.futures[name]: entry for entry in entries if name in entry.futures}
            if futures:
                yield name, futures

    def check_returned(self, name, what, futures, returned, late) -> None:
        """What a wait said is done is done, as due; a timed wait returned in time."""
        for future in returned:
            assert future.done(), f"{name}: {what} gave a future that is not done"
            self.check_ending(futures[future], name, outcome(future))
        assert late is None, f"{name}: {late}"

    def submit_to(self, name, entry, fn, *args, how="submit"):
        """Submits on pool ``name`` as ``how`` says; records the future, or checks the refusal."""
        pool = self.pools[name]
        bounded = name == "stealpool" and self.max_queued is not None
        if bounded and how == "submit" and not self.gates_open():
            how = "nowait"  # a full queue behind a closed gate would never make room
        if name == "stdlib" or how == "submit":
            submit = pool.submit
        elif how == "nowait":
            submit = pool.submit_nowait
        else:
            submit = lambda fn, *args: pool.submit_within(0.01, fn, *args)  # noqa: E731
        try:
            entry.futures[name] = submit(fn, *args)
        except Exception as error:
            refusal = ("error", type(error).__name__, str(error))
            self.check_refusal(name, refusal, may_be_full=bounded and how != "submit")

    # -- the rules -----------------------------------------------------------

    @rule(
        target=submitted,
        fails=st.booleans(),
        gate=st.none() | st.integers(0, 1),
        how=st.sampled_from(["submit", "nowait", "within"]),
    )
    def submit(self, fails, gate, how):
        number = next(self.numbers)
        entry = Submitted(("error", "ValueError", f"task {number}") if fails else ("value", number))
        entry.task_number = number
        for name in self.pools:
            task = Task(number, fails, None if gate is None else self.gates[gate], self.started[name])
            self.submit_to(name, entry, task, how=how)
        self.everything.append(entry)
        return entry

    @rule(target=submitted, how=st.sampled_from(["result", "exception", "wait", "as_completed"]), timeout=TIMEOUTS)
    def submit_a_task_that_waits_on_its_own_child_with_a_timeout(self, how, timeout):
        entry = Submitted(("value", "ok"), submits_inside=True)
        for name, pool in self.pools.items():
            self.submit_to(name, entry, nested_timed_wait, pool, how, timeout, how="nowait")
        self.everything.append(entry)
        return entry

    @rule(
        target=submitted,
        count=st.integers(1, 4),
        failing=st.none() | st.integers(0, 3),
        cancel=st.none() | st.integers(0, 3),
        how=st.sampled_from(
            ["result", ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, "as_completed", "map", "map_buffered"]
        ),
    )
    def submit_a_task_that_waits_on_its_own_children(self, count, failing, cancel, how):
        # On stealpool alone: on the stdlib's pool this deadlocks once every worker waits.
        entry = Submitted(("value", "ok"), submits_inside=True)
        pool = self.pools["stealpool"]
        self.submit_to("stealpool", entry, nested_untimed_wait, pool, count, failing, cancel, how, how="nowait")
        self.everything.append(entry)
        return entry

    @rule(entry=submitted)
    def cancel(self, entry):
        for name, future in entry.futures.items():
            if name == "stdlib" and self.breaks:
                # The stdlib's breaking pool fails its queued futures with
                # set_exception, which raises on a cancelled one in the
                # worker and strands those behind it: its bug, not a promise.
                continue
            # A future submitted from outside holds a place until it starts or
            # is cancelled: the room must come at once, not when a worker drops
            # the job (workers only free more places meanwhile).
            holds_a_place = name == "stealpool" and self.max_queued is not None and not future.done()
            held = self.pools[name]._room.places.queued if holds_a_place else 0
            if future.cancel():
                entry.cancelled.add(name)
                if holds_a_place:
                    assert self.pools[name]._room.places.queued < held, "stealpool: a cancelled future kept its place"

    @rule(gate=st.integers(0, 1))
    def open_gate(self, gate):
        self.gates[gate].set()

    @rule(entry=submitted, method=st.sampled_from(["result", "exception"]), timeout=st.none() | TIMEOUTS)
    def wait_for_one(self, entry, method, timeout):
        if timeout is None and not self.gates_open():
            timeout = 0.05
        for name, future in entry.futures.items():
            started = time.monotonic()
            ending = call_outcome(lambda: getattr(future, method)(timeout))
            late = lateness(method, timeout, started)
            if ending == ("error", "TimeoutError", ""):
                assert timeout is not None, f"{name}: an untimed {method}() timed out"
            else:
                self.check_ending(entry, name, outcome(future))
            assert late is None, f"{name}: {late}"

    @rule(
        entries=st.lists(submitted, min_size=1, max_size=4),
        return_when=st.sampled_from([ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION]),
        timeout=st.none() | TIMEOUTS,
    )
    def wait(self, entries, return_when, timeout):
        if timeout is None and not self.untimed_waits_end(entries):
            timeout = 0.05
        for name, futures in self.futures_on_each_pool(entries):
            started = time.monotonic()
            done, not_done = concurrent.futures.wait(futures, timeout=timeout, return_when=return_when)
            late = lateness("wait", timeout, started)
            assert done | not_done == set(futures) and not done & not_done, f"{name}: wait() lost futures"
            self.check_returned(name, "wait", futures, done, late)
            if timeout is None and return_when == FIRST_COMPLETED:
                assert done, f"{name}: wait(FIRST_COMPLETED) returned with nothing done"
            elif timeout is None and return_when == FIRST_EXCEPTION:
                raised = any(outcome(future)[0] == "error" for future in done)
                assert raised or not not_done, f"{name}: wait(FIRST_EXCEPTION) returned early"
            elif timeout is None:
                assert not not_done, f"{name}: wait(ALL_COMPLETED) returned early"

    @rule(entries=st.lists(submitted, min_size=1, max_size=4), timeout=st.none() | TIMEOUTS)
    def as_completed(self, entries, timeout):
        if timeout is None and not self.untimed_waits_end(entries):
            timeout = 0.05
        for name, futures in self.futures_on_each_pool(entries):
            yielded = []
            started = time.monotonic()
            try:
                for future in concurrent.futures.as_completed(futures, timeout=timeout):
                    yielded.append(future)
            except concurrent.futures.TimeoutError as error:
                assert timeout is not None, f"{name}: an untimed as_completed() timed out"
                assert str(error) == f"{len(futures) - len(yielded)} (of {len(futures)}) futures unfinished"
            else:
                assert len(yielded) == len(futures), f"{name}: as_completed() ended early"
            late = lateness("as_completed", timeout, started)
            assert len(set(yielded)) == len(yielded), f"{name}: as_completed() yielded a future twice"
            self.check_returned(name, "as_completed", futures, yielded, late)

    @rule(count=st.integers(0, 5), failing=st.none() | st.integers(0, 4), buffersize=st.none() | st.integers(1, 2))
    def map(self, count, failing, buffersize):
        if not self.gates_open():
            return  # map waits for its results: behind a closed gate that is forever
        if failing is not None and failing < count:
            due = ("error", "ValueError", f"child {failing}")
        else:
            due = ("value", [number * 10 for number in range(count)])
        for name, pool in self.pools.items():
            extra = {"buffersize": buffersize} if buffersize and (name == "stealpool" or STDLIB_HAS_BUFFERSIZE) else {}
            ending = call_outcome(lambda: list(pool.map(child, range(count), [failing] * count, **extra)))
            allowed = [due]
            if self.shut_down and count:
                allowed = [("error", "RuntimeError", SHUT_DOWN)]
            if self.breaks and count:
                allowed.append(("error", "BrokenThreadPool", BROKEN))
            assert ending in allowed, f"{name}: map gave {ending} where {due} was due"

    @rule(wait=st.booleans(), cancel_futures=st.booleans())
    def shutdown(self, wait, cancel_futures):
        wait = wait and self.gates_open()  # else it would wait forever
        self.shut_down = True
        self.cancelled_by_shutdown |= cancel_futures
        for pool in self.pools.values():
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    @invariant()
    def no_submitter_waits_and_no_place_is_given_twice(self):
        ran["steps"] += 1
        pool = self.pools["stealpool"]
        assert pool.stats()["waiting_submitters"] == 0  # this program submits from one thread that never waits
        if self.max_queued is not None:
            assert 0 <= pool._room.places.queued <= self.max_queued

    # -- the end of every program ---------------------------------------------

    def teardown(self):
        try:
            self.check_the_end()
        finally:
            sys.unraisablehook, threading.excepthook = self.hooks
        assert not self.swallowed, f"exceptions nobody could see: {self.swallowed}"

    def check_the_end(self):
        for gate in self.gates:
            gate.set()
        opened = time.monotonic()
        for entry in self.everything:
            for name, future in entry.futures.items():
                wait_until(future.done, opened, f"{name}: a future never ended: {entry.expected}")
                self.check_ending(entry, name, outcome(future))
                if future.cancelled() and entry.task_number is not None:
                    assert entry.task_number not in self.started[name], f"{name}: a cancelled task ran"
        self.check_no_place_leaked(opened)
        for name, pool in self.pools.items():
            pool.shutdown(wait=False)
            for thread in list(pool._threads):
                while thread.is_alive() and in_time(opened):
                    thread.join(0.01)
                assert not thread.is_alive(), f"{name}: a worker outlived shutdown"

    def check_no_place_leaked(self, opened: float) -> None:
        pool = self.pools["stealpool"]
        # A cancelled job stays queued until a worker drops it.
        wait_until(lambda: not pool.stats()["queued"], opened, "stealpool: tasks stayed queued")
        assert pool.stats()["waiting_submitters"] == 0
        if self.max_queued is None:
            return
        # A task a broken pool drops gives its place back as the dropping
        # worker lets go of it, just after failing its future: the waiter
        # that saw the failure may look first.
        wait_until(lambda: not pool._room.places.queued, opened, "stealpool: a place leaked")
        if not (self.shut_down or self.breaks):
            assert pool.submit_nowait(int).result(timeout=BOUND) == 0


def wait_until(condition: Callable[[], object], opened: float, failure: str) -> None:
    """Polls ``condition`` until it holds; fails with ``failure`` once not ``in_time``."""
    while not condition():
        assert in_time(opened), failure
        time.sleep(0.001)


def in_time(opened: float) -> bool:
    """Whether a program's end is still within BOUND of its gates opening,
    not counting a stretch in which the whole machine stalled (as timed
    waits are excused): a task that never ends is told apart from a
    machine that ran nothing for seconds."""
    now = time.monotonic()
    return now - opened < BOUND + stall_meter.machine_stall(opened, now)


# Hypothesis keeps what it learns of every program it runs: the heap grows by
# about 165,000 objects per 1000 programs, and the collector's full passes
# grow with it, to seconds that stall every thread of the process (timed
# waits on both pools then overran by 2.5 to 3.7 s in long runs). So a long
# run is many short hypothesis runs of at most BATCH programs each.
BATCH = 500


@pytest.mark.timeout(0 if LONG else 600)
@pytest.mark.parametrize("batch", range(-(-PROGRAMS // BATCH)))
def test_differential_programs(batch: int) -> None:
    run_state_machine_as_test(
        DifferentialProgram,
        settings=settings(
            max_examples=min(BATCH, PROGRAMS - batch * BATCH),
            stateful_step_count=STEPS_PER_PROGRAM,
            deadline=None,
            derandomize=False,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def teardown_module():
    print(f"\ndifferential fuzz: {ran['programs']} programs, {ran['steps']} steps")
