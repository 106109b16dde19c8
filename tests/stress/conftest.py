"""Stress tests for stealpool: load, cancellation, shutdown races, nesting,
backpressure, interpreter exit, fork, faults and leaks.

Two sizes, chosen with the environment variable ``STEALPOOL_STRESS``:

``STEALPOOL_STRESS=short`` (or unset: the default)
    Runs with every ``pytest`` invocation, CI included. The whole directory
    finishes in well under two minutes per Python version on a 2-core
    machine: ~50k tasks in the load test, 200k in the leak test, 10
    subprocess runs per interpreter-exit scenario.

``STEALPOOL_STRESS=long``
    The soak: 1M tasks in the load test, 5M in the leak test, 10M from a
    producer bounded by ``max_queued`` (and 1M queued on the stdlib's pool
    for comparison, about 2 GiB of RSS at its peak), 50 subprocess
    runs per exit scenario, more forks, rounds and cancellations. About 4
    minutes on a 2-core machine; allow up to 15 on a slow one::

        STEALPOOL_STRESS=long python -m pytest -q tests/stress

Any other value is a usage error. The sizes live in ``SHORT`` and ``LONG``
below; tests read them through the ``sizes`` fixture. At the end of the run
the terminal summary reports the size, the tasks the stress tests ran, the
subprocesses they started, the peak RSS of pytest and the leak test's figures.

Every wait in these tests is bounded (futures with a timeout, threads joined
with a timeout, subprocesses with a timeout, ``shutdown(wait=True)`` run
through ``bounded``), so a bug shows as a failure rather than a hang; no test
asserts on timing. When pytest-timeout is not active, a faulthandler
watchdog per test dumps every thread's stack and exits if a test still
overruns. Each test also fails if anything reached ``sys.unraisablehook`` or
``threading.excepthook`` while it ran (a worker writing an error it could not
deliver, a future resolved twice).
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import pytest
import python_subprocess
from loop_kinds import INSTALLED_LOOPS, recording_loop

try:
    import resource
except ImportError:  # not on Windows: the summary then leaves peak RSS out
    resource = None  # type: ignore[assignment]

ENV = "STEALPOOL_STRESS"

SHORT: dict[str, Any] = dict(
    name="short",
    # test_stress_load
    load_tasks=50_000,
    gc_rounds=10_000,
    # test_stress_cancel
    cancel_rounds=6,
    cancel_tasks=400,
    storm_tasks=1_500,
    # test_stress_shutdown
    shutdown_rounds=12,
    # test_stress_nested
    nested_rounds=3,
    nested_fanout_tasks=3_000,
    # test_stress_exit
    exit_repeats=10,
    # test_stress_resolution: tasks per racing path (three paths)
    race_tasks=30_000,
    # test_stress_fork
    forks=4,
    fork_burst_tasks=20_000,
    # test_stress_faults
    fault_tasks=600,
    huge_results=4,
    gil_hogs=4,
    # test_stress_backpressure: a bounded producer's tasks; the stdlib
    # reference is cut short, each of its tasks staying queued
    backpressure_tasks=200_000,
    stdlib_backlog_tasks=50_000,
    # test_stress_leaks
    leak_tasks=200_000,
    leak_rounds=10,
    pool_cycles=150,
    weakref_rounds=3,
    # bound on any single wait for a batch of work (seconds)
    wait=60,
    # per-test watchdog (seconds) when pytest-timeout is not active
    watchdog=300,
)

LONG: dict[str, Any] = dict(
    SHORT,
    name="long",
    load_tasks=1_000_000,
    gc_rounds=200_000,
    cancel_rounds=40,
    cancel_tasks=2_000,
    storm_tasks=20_000,
    shutdown_rounds=80,
    nested_rounds=20,
    nested_fanout_tasks=50_000,
    exit_repeats=50,
    race_tasks=400_000,
    forks=30,
    fork_burst_tasks=200_000,
    fault_tasks=6_000,
    huge_results=20,
    gil_hogs=16,
    backpressure_tasks=10_000_000,
    stdlib_backlog_tasks=1_000_000,
    leak_tasks=5_000_000,
    leak_rounds=25,
    pool_cycles=2_000,
    weakref_rounds=30,
    wait=600,
    watchdog=1_800,
)


class Sizes:
    """The chosen size's numbers as attributes (``sizes.load_tasks``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @property
    def long(self) -> bool:
        return self.name == "long"


def chosen_sizes() -> Sizes:
    value = os.environ.get(ENV, "short").strip().lower() or "short"
    if value == "short":
        return Sizes(SHORT)
    if value == "long":
        return Sizes(LONG)
    raise pytest.UsageError(f"{ENV}={value!r}: expected 'short' (default) or 'long'")


class Tally:
    """What the stress tests did, for the terminal summary."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.task_count = 0
        self.subprocess_count = 0
        self.hung: list[str] = []
        self.notes: list[str] = []

    def tasks(self, count: int) -> None:
        with self.lock:
            self.task_count += count

    def subprocesses(self, count: int = 1) -> None:
        with self.lock:
            self.subprocess_count += count

    def note(self, line: str) -> None:
        """A figure worth seeing in the summary (measured RSS, repeats)."""
        with self.lock:
            self.notes.append(line)


_SIZES: Sizes | None = None
_TALLY = Tally()


def pytest_configure(config: pytest.Config) -> None:
    global _SIZES
    _SIZES = chosen_sizes()


def pytest_report_header(config: pytest.Config) -> str:
    return f"stealpool stress size: {chosen_sizes().name} (set {ENV}=long for the soak)"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SIZES is None or (_TALLY.task_count == 0 and _TALLY.subprocess_count == 0):
        return
    peak = ""
    if resource is not None:
        # ru_maxrss is in KiB on Linux and in bytes on macOS.
        scale = 1 if sys.platform == "darwin" else 1 << 10
        peak = f"; peak RSS of pytest: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / (1 << 20):.0f} MiB"
    terminalreporter.write_sep("-", f"stealpool stress ({_SIZES.name})")
    terminalreporter.write_line(
        f"tasks run in pytest and its subprocesses: {_TALLY.task_count:,}; "
        f"subprocesses: {_TALLY.subprocess_count:,}{peak}"
    )
    for line in _TALLY.notes:
        terminalreporter.write_line(line)
    if _TALLY.hung:
        terminalreporter.write_line("calls that never returned: " + "; ".join(_TALLY.hung))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _TALLY.hung:
        # A call that never returned may keep a worker busy forever, and the
        # interpreter joins stealpool's workers at exit: dump and exit then
        # instead of hanging.
        faulthandler.dump_traceback_later(60, exit=True)


@pytest.fixture(scope="session")
def sizes() -> Sizes:
    assert _SIZES is not None
    return _SIZES


@pytest.fixture(scope="session")
def tally() -> Tally:
    return _TALLY


@pytest.fixture(autouse=True)
def watchdog(request: pytest.FixtureRequest, sizes: Sizes):
    """Dumps all stacks and exits if one test overruns (pytest-timeout does it otherwise)."""
    timeout_option = None
    try:
        timeout_option = request.config.getoption("timeout")
    except ValueError:
        pass
    if timeout_option:
        yield
        return
    faulthandler.dump_traceback_later(sizes.watchdog, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def nothing_unraisable():
    """Fails the test if a worker (or anything) reported an error nobody could receive."""
    seen: list[str] = []
    previous_unraisable = sys.unraisablehook
    previous_thread = threading.excepthook

    def on_unraisable(unraisable: Any) -> None:
        seen.append(f"unraisable: {unraisable.exc_value!r} in {unraisable.object!r}")

    def on_thread_exception(args: Any) -> None:
        seen.append("thread {}: {!r}".format(getattr(args.thread, "name", "?"), args.exc_value))

    sys.unraisablehook = on_unraisable
    threading.excepthook = on_thread_exception
    try:
        yield seen
    finally:
        sys.unraisablehook = previous_unraisable
        threading.excepthook = previous_thread
    assert seen == []


def _wait_until(predicate: Callable[[], Any], timeout: float, what: Any, interval: float = 0.002) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            message = what() if callable(what) else what
            raise AssertionError(f"not within {timeout} s: {message}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def wait_until() -> Callable[..., Any]:
    """``wait_until(predicate, timeout, what)``: polls; fails (never hangs) at the timeout.

    ``what`` describes the failure: a string, or a callable that makes one then.
    """
    return _wait_until


class Bounded:
    """Runs a blocking call in a daemon thread and fails if it does not return in time."""

    def __call__(self, fn: Callable[..., Any], *args: Any, timeout: float = 60, what: str = "", **kwargs: Any) -> Any:
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["value"] = fn(*args, **kwargs)
            except BaseException as error:  # handed to the caller
                outcome["error"] = error

        thread = threading.Thread(target=call, name="bounded " + (what or getattr(fn, "__name__", "call")), daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            label = what or repr(fn)
            _TALLY.hung.append(label)
            raise AssertionError(f"{label} did not return within {timeout} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def shutdown(self, pool: Any, wait: bool = True, cancel_futures: bool = False, timeout: float = 60) -> None:
        self(
            pool.shutdown,
            wait,
            cancel_futures=cancel_futures,
            timeout=timeout,
            what=f"shutdown(wait={wait}, cancel_futures={cancel_futures})",
        )


@pytest.fixture(scope="session")
def bounded() -> Bounded:
    """``bounded(fn, *args, timeout=, what=)`` and ``bounded.shutdown(pool, ...)``."""
    return Bounded()


class ThreadGroup:
    """Threads started together, joined with a deadline, their exceptions re-raised."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def start(self, target: Callable[..., Any], *args: Any, name: str = "") -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except BaseException as error:
                with self.lock:
                    self.errors.append(error)

        thread = threading.Thread(target=run, name=name or getattr(target, "__name__", "stress"), daemon=True)
        self.threads.append(thread)
        thread.start()
        return thread

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in self.threads if thread.is_alive()]
        if stuck:
            _TALLY.hung.extend(stuck)
            raise AssertionError(f"threads still running after {timeout} s: {stuck}")
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def threads() -> ThreadGroup:
    return ThreadGroup()


def run_loop(kind: str, main: Callable[[], Any], timeout: float) -> Any:
    """Runs ``main()`` like ``asyncio.run`` on a recording loop, bounded by ``timeout``.

    Returns (result, loop); the loop is closed, its default executor shut
    down, its recorded errors left in ``loop.errors`` and the number of tasks
    still pending when ``main`` returned in ``loop.leftover_tasks``.
    """
    loop = recording_loop(kind)
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(asyncio.wait_for(main(), timeout))
        leftover = asyncio.all_tasks(loop)
        loop.leftover_tasks = len(leftover)  # type: ignore[attr-defined]
        for task in leftover:
            task.cancel()
        if leftover:
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_default_executor(), timeout))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return result, loop


@pytest.fixture(scope="session")
def loops() -> Any:
    """``loops.new(kind)``, ``loops.run(kind, main, timeout)``, ``loops.kinds`` (installed kinds)."""

    class Loops:
        new = staticmethod(recording_loop)
        run = staticmethod(run_loop)
        kinds = INSTALLED_LOOPS

    return Loops()


@pytest.fixture
def run_python(tally: Tally) -> Callable[..., subprocess.CompletedProcess]:
    """``run_python(code, timeout=60, flags=(), argv=())``: runs code in a fresh interpreter.

    ``flags`` go to the interpreter (``-W ...``), ``argv`` to the script
    (``sys.argv[1:]``). A run still going at ``timeout`` is killed and fails
    the test (with what it printed so far), so a hang at exit shows as a failure.
    """

    def run(code: str, timeout: float = 60, flags: Any = (), argv: Any = ()) -> subprocess.CompletedProcess:
        tally.subprocesses()
        try:
            return python_subprocess.run_python(code, timeout, flags, argv)
        except subprocess.TimeoutExpired as expired:
            raise AssertionError(
                "subprocess still running after {} s (killed)\nstdout tail: {!r}\nstderr tail: {!r}".format(
                    timeout,
                    (expired.stdout or b"")[-2000:],
                    (expired.stderr or b"")[-2000:],
                )
            ) from None

    return run


@pytest.fixture
def preempt_everywhere():
    """The interpreter's switch interval at 1 µs, so threads are preempted
    between almost any two bytecodes."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
