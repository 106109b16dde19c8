"""Debuggers, profilers and coverage see code run on the pool, as they see
code on any ``threading.Thread``: workers take ``threading.settrace`` and
``threading.setprofile`` hooks (and the ``_all_threads`` forms)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest
import stealpool


def traced_task(x: int) -> int:
    return x + 1


def calls_of(code, events):
    def hook(frame, event, arg):
        if event == "call" and frame.f_code is code:
            events.append(threading.current_thread().name)
        return None

    return hook


@pytest.mark.parametrize("set_hook", [threading.settrace, threading.setprofile], ids=["settrace", "setprofile"])
def test_threading_hooks_reach_new_workers(set_hook):
    seen = []
    set_hook(calls_of(traced_task.__code__, seen))
    try:
        with stealpool.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hooked") as pool:
            assert pool.submit(traced_task, 1).result(timeout=10) == 2
    finally:
        set_hook(None)
    assert seen == ["hooked_0"]
    # The stdlib's pool would name its thread hooked_0 too.
    assert pool.stats()["completed"] == 1


@pytest.mark.skipif(not hasattr(threading, "settrace_all_threads"), reason="settrace_all_threads is new in 3.12")
def test_settrace_all_threads_reaches_running_workers():
    seen = []
    with stealpool.ThreadPoolExecutor(max_workers=1, thread_name_prefix="running") as pool:
        pool.submit(traced_task, 0).result(timeout=10)
        threading.settrace_all_threads(calls_of(traced_task.__code__, seen))
        try:
            assert pool.submit(traced_task, 1).result(timeout=10) == 2
        finally:
            threading.settrace_all_threads(None)
        assert pool.stats()["spawned"] == 1
    assert seen == ["running_0"]


def test_coverage_reports_lines_that_only_ran_on_the_pool(tmp_path):
    pytest.importorskip("coverage")
    script = tmp_path / "pooled.py"
    script.write_text(
        textwrap.dedent(
            """\
            import stealpool

            def only_on_the_pool(x):
                doubled = x * 2
                return doubled + 1

            with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
                assert pool.submit(only_on_the_pool, 1).result(timeout=30) == 3
                assert pool.stats()["completed"] == 1
            """
        )
    )
    data = tmp_path / "coverage.data"
    report = tmp_path / "coverage.json"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "--data-file", str(data), str(script)],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", "--data-file", str(data), "-o", str(report)],
        cwd=tmp_path,
        check=True,
        timeout=120,
    )
    files = json.loads(report.read_text())["files"]
    executed = next(entry["executed_lines"] for name, entry in files.items() if name.endswith("pooled.py"))
    assert {4, 5} <= set(executed)
