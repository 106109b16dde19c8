"""``python -m stealpool_bench.runs``: several reports as the README's table.
Reports are made by the harness's own ``build_report``, so a change to the
``--json`` shape that the combination does not follow fails here."""

from __future__ import annotations

import random

import pytest
from stealpool_bench import report, runs
from stealpool_bench.results import HIGHER_IS_BETTER, LOWER_IS_BETTER, STDLIB, STEALPOOL, make_row

SETTINGS = {"size": "default", "rounds": 5, "warmup_rounds": 1, "workloads": ["burst", "sha256", "floor"]}


def machine(load: float) -> dict[str, object]:
    return {
        "python": "3.12.1",
        "implementation": "CPython",
        "date": "2026-01-02T03:04:05+00:00",
        "cpu_count": 2,
        "load_average_1min": load,
    }


def burst(stealpool_us: float, stdlib_us: float) -> object:
    return make_row("burst", "asyncio", "us/call", LOWER_IS_BETTER, {STEALPOOL: [stealpool_us], STDLIB: [stdlib_us]})


def sha256(stealpool_speedup: float) -> object:
    return make_row(
        "sha256", "2 workers", "x serial", HIGHER_IS_BETTER, {STEALPOOL: [stealpool_speedup], STDLIB: [1.0]}
    )


def floor(stealpool_us: float) -> object:
    return make_row(
        "floor",
        "asyncio",
        "us/call",
        LOWER_IS_BETTER,
        {STEALPOOL: [stealpool_us], "loop alone": [2.0]},
        baseline=None,
        references=["loop alone"],
    )


def three_runs():
    rows_per_run = [
        [burst(10.0, 40.0), sha256(1.5), floor(6.0)],  # burst ratio 4.0
        [burst(20.0, 20.0), sha256(0.5), floor(8.0)],  # 1.0
        [burst(12.0, 24.0), sha256(1.0)],  # 2.0; no floor row in this run
    ]
    return [report.build_report(rows, machine(load), SETTINGS, []) for rows, load in zip(rows_per_run, [0.1, 0.2, 3.5])]


def cells_by_label():
    cells = runs.combined_cells(three_runs())
    assert cells[0] == runs.HEADER
    return {row[0]: row for row in cells[1:]}


def test_medians_over_runs_and_the_median_ratio_with_its_range():
    row = cells_by_label()["burst [asyncio]"]
    # stealpool 10/20/12 -> 12; the stdlib 40/20/24 -> 24; ratios 4, 1, 2.
    assert row == ["burst [asyncio]", "us/call (lower)", "12.0", STDLIB, "24.0", "2.00x", "1.00-4.00"]


def test_higher_is_better_rows_keep_their_ratios_direction():
    assert cells_by_label()["sha256 [2 workers]"][5:] == ["1.00x", "0.50-1.50"]


def test_a_reference_row_has_no_ratio_and_a_row_one_run_lacks_uses_the_others():
    assert cells_by_label()["floor [asyncio]"] == [
        "floor [asyncio]",
        "us/call (lower)",
        "7.00",
        "loop alone",
        "2.00",
        "-",
        "-",
    ]


def test_the_rendering_names_each_runs_load_and_lines_up():
    rendered = runs.render(three_runs())
    assert "run 3: 2026-01-02T03:04:05+00:00, CPython 3.12.1, 2 CPUs, load average 3.5 at start" in rendered
    table = rendered.split("\n\n")[1].splitlines()
    assert len({len(line) for line in table[:2]}) == 1  # the header as wide as its rule


def test_main_reads_report_files(tmp_path, capsys):
    paths = []
    for number, one in enumerate(three_runs(), 1):
        path = tmp_path / f"run-{number}.json"
        path.write_text(report.render_json(one))
        paths.append(str(path))
    assert runs.main(paths) == 0
    assert "burst [asyncio]" in capsys.readouterr().out


def rounds_of(stealpool_us: list[float], stdlib_us: list[float]) -> object:
    return make_row("burst", "asyncio", "us/call", LOWER_IS_BETTER, {STEALPOOL: stealpool_us, STDLIB: stdlib_us})


def test_paired_pools_every_rounds_ratio_over_the_runs():
    reports = [
        report.build_report([rounds_of([10.0, 10.0], [20.0, 20.0]), floor(6.0)], machine(0.1), SETTINGS, []),
        report.build_report([rounds_of([40.0], [20.0])], machine(0.1), SETTINGS, []),
    ]
    # Round ratios 2, 2 and 0.5: one below 1, geometric mean (2 * 2 * 0.5) ** (1/3).
    (header, burst_row) = runs.paired_cells(reports)
    assert header == runs.PAIRED_HEADER
    assert burst_row[:5] == ["burst [asyncio]", STDLIB, "3", "1", f"{2 ** (1 / 3):.2f}x"]
    low, high = (float(bound) for bound in burst_row[5].split("-"))
    assert 0.5 <= low < 2 ** (1 / 3) < high <= 2


def test_paired_interval_narrows_with_rounds_and_excludes_1_only_when_the_rounds_say_so():
    rng = random.Random(1)
    slower = [0.9 * rng.uniform(0.95, 1.05) for _ in range(40)]
    mean, low, high = runs.geometric_mean_interval(slower, rng)
    assert low < mean < high < 1
    mixed = [0.8, 1.25] * 20
    mean, low, high = runs.geometric_mean_interval(mixed, rng)
    assert mean == pytest.approx(1.0) and low < 1 < high


def test_main_paired_prints_the_pooled_rounds(tmp_path, capsys):
    path = tmp_path / "run-1.json"
    path.write_text(report.render_json(three_runs()[0]))
    assert runs.main(["--paired", str(path)]) == 0
    out = capsys.readouterr().out
    assert "90% interval" in out and "burst [asyncio]" in out
    assert "floor [asyncio]" not in out  # a reference row has no baseline to pair with
