"""The fresh-loop round trip row and its floors (one wake-up, two wake-ups).

Behaviour only: each sample runs on a loop of its own and leaves no thread
or process behind; stealpool's samples are served by stealpool; each floor
answers every call, names itself as a reference, and its process ends with
the bench; only the parked floor's answerer sleeps between calls. No clock
is read.
"""

from __future__ import annotations

import asyncio
import functools
import signal
import subprocess
import sys
import threading
import time

import pytest
import stealpool
from stealpool_bench import fresh_loop
from stealpool_bench.context import QUICK, BenchContext, Progress
from stealpool_bench.loops import available_loop_kinds
from stealpool_bench.results import STDLIB, STEALPOOL
from stealpool_bench.wake_floor import WakeFloor, thread_stat_path

HAS_FLOOR = thread_stat_path(threading.get_native_id()) is not None
needs_floor = pytest.mark.skipif(not HAS_FLOOR, reason="the floor reads a thread's state from /proc (Linux only)")
LOOP_KINDS = available_loop_kinds()[0]


@pytest.mark.parametrize("kind", LOOP_KINDS, ids=[kind.name for kind in LOOP_KINDS])
def test_rows_put_stealpool_against_the_stdlib_with_the_floor_as_a_reference(kind) -> None:
    ctx = BenchContext(sizes=QUICK, rounds=1, progress=Progress(enabled=False))
    rows = {row.variant: row for row in fresh_loop.run_fresh_roundtrip(ctx)}
    row = rows[kind.name]
    assert row.workload == "fresh_roundtrip" and row.baseline == STDLIB
    assert set(row.ratios) == {STEALPOOL}
    if HAS_FLOOR:
        floors = [fresh_loop.FLOOR, fresh_loop.PARKED_FLOOR]
        assert set(row.medians) == {STEALPOOL, STDLIB, *floors}
        assert row.references == floors
        for peer in (STEALPOOL, STDLIB):
            fraction = row.params[f"{peer}_fraction_of_floor"]
            assert fraction == pytest.approx(row.medians[fresh_loop.FLOOR] / row.medians[peer])
            parked = row.params[f"{peer}_fraction_of_parked_floor"]
            assert parked == pytest.approx(row.medians[fresh_loop.PARKED_FLOOR] / row.medians[peer])
        assert "of the one-wake-up floor: stealpool " in row.note
        assert "of the two-wake-up floor: stealpool " in row.note
    else:
        assert set(row.medians) == {STEALPOOL, STDLIB}
        assert row.references == []
        assert any("no 'one wake-up' or 'two wake-ups' floor" in note for note in ctx.notes)


@pytest.mark.parametrize("kind", LOOP_KINDS, ids=[kind.name for kind in LOOP_KINDS])
def test_a_stealpool_sample_is_served_by_a_pool_that_ends_with_its_loop(kind, monkeypatch) -> None:
    installed: list[stealpool.ThreadPoolExecutor] = []
    real_install = stealpool.install

    def recording_install() -> stealpool.ThreadPoolExecutor:
        installed.append(real_install())
        return installed[-1]

    before = set(threading.enumerate())
    monkeypatch.setattr(fresh_loop.stealpool, "install", recording_install)
    fresh_loop.on_a_new_loop(kind, functools.partial(fresh_loop.to_thread_after_install, 20))
    [executor] = installed
    assert isinstance(executor, stealpool.ThreadPoolExecutor) and executor.stats()["completed"] >= 20
    assert set(threading.enumerate()) <= before, "a worker outlived the sample's loop"
    with pytest.raises(RuntimeError, match="no running event loop|no current event loop"):
        asyncio.get_running_loop()


def test_a_sample_whose_install_did_not_take_is_refused(monkeypatch) -> None:
    class Unserved:
        def stats(self) -> dict:
            return {"completed": 0}

    monkeypatch.setattr(fresh_loop.stealpool, "install", lambda: Unserved())
    with pytest.raises(RuntimeError, match="stealpool ran 0 of 5 calls"):
        fresh_loop.on_a_new_loop(LOOP_KINDS[0], functools.partial(fresh_loop.to_thread_after_install, 5))


@needs_floor
@pytest.mark.parametrize("parked", [False, True], ids=["spinning", "parked"])
def test_the_floor_answers_every_call_and_its_process_ends(parked: bool) -> None:
    with WakeFloor(parked) as floor:

        async def calls() -> float:
            detach = floor.attach(asyncio.get_running_loop())
            try:
                for _ in range(300):  # past the 254 request numbers, so they wrap
                    await floor.call()
            finally:
                detach()
            return 0.0

        fresh_loop.on_a_new_loop(LOOP_KINDS[0], calls)
        child = floor._child
    assert child is not None and child.returncode == 0


@needs_floor
@pytest.mark.parametrize("parked", [False, True], ids=["spinning", "parked"])
def test_the_floors_process_ends_when_the_bench_is_killed_mid_sample(parked: bool) -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "from stealpool_bench.wake_floor import WakeFloor\n"
            f"with WakeFloor(parked={parked}) as floor:\n"
            "    print(floor._child.pid, flush=True)\n"
            "    time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _is_running(child_pid):
        time.sleep(0.05)
    assert not _is_running(child_pid), "the answering process spins on after its parent died"


@needs_floor
@pytest.mark.parametrize("parked", [False, True], ids=["spinning", "parked"])
def test_only_the_parked_floors_answerer_sleeps_between_calls(parked: bool) -> None:
    with WakeFloor(parked) as floor:
        assert floor._child is not None
        states = []
        for _ in range(50):
            states.append(_state(floor._child.pid))
            if parked and states[-1] == "S":
                break
            time.sleep(0.01)
    if parked:
        assert states[-1] == "S", f"the parked answerer never slept: {states}"
    else:
        assert set(states) == {"R"}, f"the spinning answerer slept: {states}"


def _is_running(pid: int) -> bool:
    """True while ``pid`` is alive and not a zombie (an orphan's is reaped by init)."""
    return _state(pid) not in (None, "Z")


def _state(pid: int) -> str | None:
    """The process's state letter from /proc (R running, S sleeping, Z zombie); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except FileNotFoundError:
        return None
    return chr(text[text.rindex(b")") + 2])
