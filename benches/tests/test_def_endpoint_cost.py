"""def_endpoint_cost: every variant serves the same endpoint, and the arithmetic is per request.

No timing is asserted: the servers must answer alike and report their CPU
figures, and the summary must subtract what it says it does.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

from stealpool_bench import def_endpoint_cost
from stealpool_bench.def_endpoint_server import VARIANTS
from stealpool_bench.server_process import serving
from stealpool_bench.web_server import PAYLOAD


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="the server reads its CPU figures from Linux's /proc")
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_answers_the_same_work_and_reports_its_cpu(variant: str) -> None:
    with serving(def_endpoint_cost.SERVER, variant, "0.005") as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/work", timeout=30) as answer:
            body = answer.read().decode()
        figures = def_endpoint_cost.read_cpu(port)
    assert body == hashlib.sha256(PAYLOAD).hexdigest()
    assert set(figures) == {"cpu_s", "loop_cpu_s", "voluntary_switches", "involuntary_switches"}
    assert 0 < figures["loop_cpu_s"] <= figures["cpu_s"]


def test_figures_per_request_split_the_loop_from_the_other_threads() -> None:
    before = {"cpu_s": 1.0, "loop_cpu_s": 0.5, "voluntary_switches": 10.0, "involuntary_switches": 0.0}
    after = {"cpu_s": 1.3, "loop_cpu_s": 0.7, "voluntary_switches": 4010.0, "involuntary_switches": 9.0}
    figures = def_endpoint_cost.per_request(before, after, 1000)
    assert figures == pytest.approx({"cpu_us": 300.0, "loop_us": 200.0, "workers_us": 100.0, "voluntary_switches": 4.0})


def test_summary_subtracts_each_variant_from_the_one_before_within_each_round() -> None:
    def run(cpu: float, loop: float) -> dict[str, float]:
        figures = {"cpu_us": cpu, "loop_us": loop, "workers_us": cpu - loop, "voluntary_switches": 0.0}
        return dict(figures, requests_per_s=1.0)

    samples = {"async": [run(70, 70), run(90, 90)], "floor": [run(100, 100), run(140, 140)]}
    lines = def_endpoint_cost.summary(samples)
    # Within rounds: 30 and 50 (median 40); across rounds the medians would give 80 - 120.
    assert lines[-1] == "  floor - async: all threads 40 (30 to 50), loop thread 40 (30 to 50)"


def test_unknown_variants_are_refused_with_the_choices() -> None:
    with pytest.raises(SystemExit) as stopped:
        def_endpoint_cost.parse_args(["--variants", "async,threads"])
    assert stopped.value.code == 2
