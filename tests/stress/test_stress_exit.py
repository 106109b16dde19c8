"""Interpreter exit in subprocesses, repeated: with work queued, running,
sleeping, parked, submitted from workers during exit, with ``sys.exit(N)``
and with an unhandled ``KeyboardInterrupt`` in the main thread.

Each scenario script runs once against the stdlib's
``concurrent.futures.ThreadPoolExecutor`` (the reference: the same checks
must pass there, else the expectation is wrong) and ``exit_repeats`` times
against stealpool. Every run must exit with the expected code, run what the
stdlib runs (all queued tasks, each once), finish before its timeout, and
leave no 'Fatal Python error', 'panicked', 'Exception ignored' or unexpected
traceback on stderr.
"""

from __future__ import annotations

import concurrent.futures
import re
import signal
import sys
import textwrap
from typing import Callable

import pytest

PRELUDE = """
import gc, os, signal, sys, threading, time

IMPL = sys.argv[1]
if IMPL.startswith("stealpool"):
    import stealpool

    # "stealpool max_queued": each task then runs inside a PlacedCall.
    MAX_QUEUED = 1000 if IMPL == "stealpool max_queued" else None

    def make_pool(max_workers, idle_timeout=10.0):
        return stealpool.ThreadPoolExecutor(max_workers, idle_timeout=idle_timeout, max_queued=MAX_QUEUED)
else:
    import concurrent.futures

    def make_pool(max_workers, idle_timeout=None):
        return concurrent.futures.ThreadPoolExecutor(max_workers)


def out(line):
    os.write(1, (line + "\\n").encode())  # one atomic write per line, from any thread


first = threading.Event()


def nap(i, seconds=0.01):
    first.set()
    time.sleep(seconds)
    out("ran %d" % i)


def spin(i, seconds=0.002):
    first.set()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    out("ran %d" % i)
"""

SCENARIOS: dict[str, str] = {
    # Many more tasks than workers, none started when main returns.
    "queued": """
        pool = make_pool(2)
        for i in range(200):
            pool.submit(out, "ran %d" % i)
        out("main done")
    """,
    # Workers busy in pure-Python code (holding the GIL in turns) at exit.
    "running": """
        pool = make_pool(4)
        for i in range(100):
            pool.submit(spin, i)
        assert first.wait(30)
        out("main done")
    """,
    # Workers inside time.sleep at exit, more queued behind them.
    "sleeping": """
        pool = make_pool(4)
        for i in range(12):
            pool.submit(nap, i, 0.05)
        assert first.wait(30)
        out("main done")
    """,
    # Every worker idle and parked (one pool never retires, one would later).
    "parked": """
        pool = make_pool(4, idle_timeout=None)
        assert list(pool.map(out, ["ran %d" % i for i in range(8)])) == [None] * 8
        other = make_pool(2)
        other.submit(out, "ran 8").result(timeout=30)
        out("main done")
    """,
    # A pool dropped without shutdown, its queue still full.
    "dropped": """
        def burst():
            pool = make_pool(2)
            for i in range(60):
                pool.submit(nap, i, 0.001)
        burst()
        gc.collect()
        out("main done")
    """,
    # Tasks submit children while the interpreter exits: a child is either
    # refused ("after interpreter shutdown") or runs; never lost.
    "nested": """
        pool = make_pool(2)
        def parent(i):
            time.sleep(0.0005)
            try:
                pool.submit(out, "child %d" % i)
            except RuntimeError as error:
                out("refused %d %s" % (i, error))
            out("ran %d" % i)
        for i in range(100):
            pool.submit(parent, i)
        out("main done")
    """,
    "sys.exit": """
        pool = make_pool(3)
        for i in range(40):
            pool.submit(nap, i)
        assert first.wait(30)
        sys.exit(7)
    """,
    "KeyboardInterrupt": """
        pool = make_pool(2)
        for i in range(40):
            pool.submit(nap, i)
        assert first.wait(30)
        raise KeyboardInterrupt
    """,
    # Ctrl-C (SIGINT to the main thread) while main blocks in future.result().
    "SIGINT in result()": """
        pool = make_pool(2)
        release = threading.Event()
        main_thread = threading.main_thread().ident
        interrupted = threading.Event()
        def interrupt_main():
            # Again until it lands: a signal arriving just before the main
            # thread blocks is only seen when the wait ends (a CPython race).
            while not interrupted.is_set():
                signal.pthread_kill(main_thread, signal.SIGINT)
                interrupted.wait(1.0)
            if not release.wait(30):
                out("never released")
            out("ran 0")
        for i in range(1, 30):
            pool.submit(nap, i, 0.001)
        blocked = pool.submit(interrupt_main)
        try:
            blocked.result(timeout=20)
            out("result() was not interrupted")
        except KeyboardInterrupt:
            interrupted.set()
            raise
        finally:
            release.set()
    """,
}

SIGINT_EXIT = -signal.SIGINT if sys.platform != "win32" else 0xC000013A


def ran_lines(count: int) -> list[str]:
    return sorted(f"ran {i}" for i in range(count))


def expect_ran(count: int, main_done: bool) -> Callable[[list[str]], str | None]:
    def check(lines: list[str]) -> str | None:
        want = ran_lines(count) + (["main done"] if main_done else [])
        if sorted(lines) != sorted(want):
            missing = sorted(set(want) - set(lines))
            extra = sorted(line for line in set(lines) if lines.count(line) > want.count(line))
            return f"output differs: missing {len(missing)} (first {missing[:5]}), extra/repeated {extra[:5]}"
        return None

    return check


def expect_nested(lines: list[str]) -> str | None:
    # The stdlib says either, depending on which exit step its worker saw.
    refused = re.compile(r"^refused (\d+) cannot schedule new futures after (interpreter )?shutdown$")
    problems = expect_ran(100, True)([line for line in lines if line.startswith(("ran ", "main "))])
    if problems:
        return problems
    children = sorted(int(line.split()[1]) for line in lines if line.startswith("child "))
    refusals = []
    for line in lines:
        if line.startswith("refused "):
            match = refused.match(line)
            if not match:
                return f"unexpected refusal: {line!r}"
            refusals.append(int(match.group(1)))
    if sorted(children + refusals) != list(range(100)):
        lost = sorted(set(range(100)) - set(children) - set(refusals))
        twice = sorted({c for c in children if children.count(c) > 1})
        return f"children neither run nor refused (lost): {lost[:10]}; run twice: {twice[:10]}"
    return None


# scenario -> (expected exit code, output check, traceback expected on stderr)
EXPECTED: dict[str, tuple[int, Callable[[list[str]], str | None], str | None]] = {
    "queued": (0, expect_ran(200, True), None),
    "running": (0, expect_ran(100, True), None),
    "sleeping": (0, expect_ran(12, True), None),
    "parked": (0, expect_ran(9, True), None),
    "dropped": (0, expect_ran(60, True), None),
    "nested": (0, expect_nested, None),
    "sys.exit": (7, expect_ran(40, False), None),
    "KeyboardInterrupt": (SIGINT_EXIT, expect_ran(40, False), "KeyboardInterrupt"),
    "SIGINT in result()": (SIGINT_EXIT, expect_ran(30, False), "KeyboardInterrupt"),
}

BAD_STDERR = ("Fatal Python error", "panicked", "Exception ignored", "Segmentation fault", "Aborted")


def judge(result, scenario: str) -> str | None:
    """What is wrong with one run, or None."""
    rc, check, traceback_of = EXPECTED[scenario]
    problems = []
    if result.returncode != rc:
        problems.append(f"exit code {result.returncode} (expected {rc})")
    bad = [marker for marker in BAD_STDERR if marker in result.stderr]
    if bad:
        problems.append(f"stderr has {bad}")
    if traceback_of is None:
        if result.stderr.strip():
            problems.append("unexpected stderr")
    elif traceback_of not in result.stderr or result.stderr.count("Traceback") != 1:
        problems.append(f"stderr should hold exactly one traceback, of {traceback_of}")
    output = check(result.stdout.splitlines())
    if output:
        problems.append(output)
    if not problems:
        return None
    return (
        "; ".join(problems) + f"\n--- stdout tail:\n{result.stdout[-1500:]}\n--- stderr tail:\n{result.stderr[-3000:]}"
    )


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name == "SIGINT in result()" and not hasattr(signal, "pthread_kill"),
                reason="needs signal.pthread_kill to interrupt the main thread",
            ),
        )
        for name in SCENARIOS
    ],
)
def test_interpreter_exit(sizes, run_python, scenario):
    code = PRELUDE + "\n" + textwrap.dedent(SCENARIOS[scenario])

    reference = run_python(code, timeout=60, argv=["stdlib"])
    assert judge(reference, scenario) is None, "the stdlib itself does not behave as expected: " + str(
        judge(reference, scenario)
    )

    # Repeats run a few at a time; every one is bounded by its own timeout.
    def one(repeat: int) -> str | None:
        problem = judge(run_python(code, timeout=60, argv=["stealpool"]), scenario)
        return None if problem is None else f"run {repeat}: {problem}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as runner:
        failures = [problem for problem in runner.map(one, range(sizes.exit_repeats)) if problem]
    assert failures == [], f"{len(failures)} of {sizes.exit_repeats} runs failed; first: {failures[0]}"


# A signal whose handler raises while the exit-time join waits for a task
# still running: the join is cut short and finalization begins with the
# worker inside Python code. The stdlib prints the exception and exits; a
# worker must never take the process down with it.
SIGNAL_DURING_EXIT = (
    PRELUDE
    + """
if sys.argv[2] == "SIGTERM":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
pool = make_pool(1)
pool.submit(spin, 0, 3.0)
assert first.wait(30)

def signal_during_exit():
    time.sleep(0.5)
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))

threading.Thread(target=signal_during_exit, daemon=True).start()
out("main done")
"""
)

CRASH_MARKERS = ("Fatal Python error", "panicked", "FATAL", "Segmentation fault", "Aborted")


@pytest.mark.parametrize("impl", ["stealpool", "stealpool max_queued"])
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_signal_during_the_exit_join_exits_like_the_stdlib(sizes, run_python, signal_name, impl):
    def last_line(text: str) -> str:
        return text.strip().splitlines()[-1] if text.strip() else ""

    reference = run_python(SIGNAL_DURING_EXIT, timeout=60, argv=["stdlib", signal_name])
    expected_error = {"SIGINT": "KeyboardInterrupt", "SIGTERM": "SystemExit: 3"}[signal_name]
    assert expected_error in last_line(reference.stderr), reference.stderr[-2000:]
    for _ in range(max(2, sizes.exit_repeats // 3)):
        run = run_python(SIGNAL_DURING_EXIT, timeout=60, argv=[impl, signal_name])
        assert run.returncode == reference.returncode, run.stderr[-3000:]
        assert last_line(run.stderr) == last_line(reference.stderr), run.stderr[-3000:]
        assert not [marker for marker in CRASH_MARKERS if marker in run.stderr], run.stderr[-3000:]
        assert run.stdout.splitlines() == ["main done"]
