"""The benchmark harness's own logic: no timings are asserted, only arithmetic and shape.

Speed is what ``python -m stealpool_bench`` reports; these tests check that it
computes, orders and prints what it claims to, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from stealpool_bench import backpressure, busy, cli, in_flight, load, memory, peers, plot, postgres, report, web, web_db
from stealpool_bench.cli import WORKLOADS
from stealpool_bench.context import DEFAULT, FULL, QUICK, BenchContext, Progress
from stealpool_bench.hashing import SERIAL, hashing_contenders, pool_serial_samples, split_evenly, worker_counts
from stealpool_bench.loops import LoopHost, LoopKind
from stealpool_bench.pool_workloads import ideal_sleep_seconds
from stealpool_bench.results import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    STDLIB,
    STEALPOOL,
    Turn,
    alternate,
    alternation_schedule,
    make_row,
    median,
    ratio_to_baseline,
)
from stealpool_bench.server_process import serving

ROW_KEYS = {
    "workload",
    "variant",
    "label",
    "unit",
    "better",
    "baseline",
    "medians",
    "ratios",
    "references",
    "samples",
    "params",
    "note",
}
REPORT_KEYS = {"schema", "machine", "settings", "ratio_convention", "peers", "notes", "rows"}

FAKE_MACHINE = {
    "python": "3.11.7",
    "implementation": "CPython",
    "date": "2026-01-02T03:04:05+00:00",
    "platform": "Linux-test",
    "machine": "x86_64",
    "cpu_model": "Test CPU",
    "cpu_count": 2,
    "versions": {"stealpool": "0.1.0", "uvloop": "0.23.0", "anyio": None, "hypertile": None},
}
FAKE_SETTINGS = {"size": "default", "rounds": 3, "warmup_rounds": 1, "workloads": ["burst", "sha256"]}


def sample_rows() -> list:
    return [
        make_row(
            "burst",
            "asyncio",
            "us/call",
            LOWER_IS_BETTER,
            {STEALPOOL: [10.0, 12.0, 11.0], STDLIB: [30.0, 33.0, 36.0], "anyio": [66.0, 60.0, 63.0]},
            params={"calls": 2000},
        ),
        make_row(
            "sha256",
            "2 workers",
            "x serial",
            HIGHER_IS_BETTER,
            {STEALPOOL: [1.8, 1.9, 2.0], STDLIB: [1.5, 1.5, 1.6], "process limit": [2.0, 2.0, 2.0]},
            references=["process limit"],
            params={"workers": 2},
            note="serial 15 ms",
        ),
        make_row(
            "floor",
            "asyncio",
            "us/call",
            LOWER_IS_BETTER,
            {STEALPOOL: [12.0], "loop alone": [3.0]},
            baseline=None,
            references=["loop alone"],
        ),
    ]


def sample_report() -> dict:
    return report.build_report(sample_rows(), FAKE_MACHINE, FAKE_SETTINGS, ["hypertile not importable: skipped"])


# --- stats ---------------------------------------------------------------


def test_median_of_odd_and_even_counts() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([7.0]) == 7.0


def test_median_ignores_one_outlier() -> None:
    assert median([10.0, 11.0, 1000.0]) == 11.0


def test_median_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        median([])


def test_ratio_for_times_is_baseline_over_value() -> None:
    # stealpool 10 us, stdlib 30 us: three times faster.
    assert ratio_to_baseline(10.0, 30.0, LOWER_IS_BETTER) == pytest.approx(3.0)
    assert ratio_to_baseline(60.0, 30.0, LOWER_IS_BETTER) == pytest.approx(0.5)


def test_ratio_for_throughputs_is_value_over_baseline() -> None:
    assert ratio_to_baseline(200.0, 100.0, HIGHER_IS_BETTER) == pytest.approx(2.0)
    assert ratio_to_baseline(50.0, 100.0, HIGHER_IS_BETTER) == pytest.approx(0.5)


def test_ratio_above_one_always_means_better() -> None:
    assert ratio_to_baseline(1.0, 2.0, LOWER_IS_BETTER) > 1  # less time
    assert ratio_to_baseline(2.0, 1.0, HIGHER_IS_BETTER) > 1  # more throughput


@pytest.mark.parametrize("value, baseline", [(None, 1.0), (1.0, None), (0.0, 1.0), (1.0, 0.0)])
def test_ratio_unknown_rather_than_infinite(value, baseline) -> None:
    assert ratio_to_baseline(value, baseline, LOWER_IS_BETTER) is None


def test_ratio_rejects_an_unknown_direction() -> None:
    with pytest.raises(ValueError):
        ratio_to_baseline(1.0, 1.0, "sideways")


# --- rows ----------------------------------------------------------------


def test_row_medians_and_ratios() -> None:
    row = sample_rows()[0]
    assert row.medians == {STEALPOOL: 11.0, STDLIB: 33.0, "anyio": 63.0}
    assert row.ratios[STEALPOOL] == pytest.approx(3.0)
    assert row.ratios["anyio"] == pytest.approx(33.0 / 63.0)
    assert STDLIB not in row.ratios  # the baseline is not compared with itself
    assert row.label == "burst [asyncio]"


def test_references_get_no_ratio() -> None:
    row = sample_rows()[1]
    assert row.medians["process limit"] == 2.0
    assert "process limit" not in row.ratios
    assert row.ratios[STEALPOOL] == pytest.approx(1.9 / 1.5)


def test_row_without_baseline_has_no_ratios() -> None:
    row = sample_rows()[2]
    assert row.ratios == {}
    assert row.baseline is None


def test_row_keeps_every_sample_in_order() -> None:
    assert sample_rows()[0].samples[STDLIB] == [30.0, 33.0, 36.0]


# --- alternation ----------------------------------------------------------


def test_schedule_alternates_peers_every_round() -> None:
    schedule = alternation_schedule(["A", "B"], rounds=3, warmup=1)
    assert [turn.contender for turn in schedule] == ["A", "B"] * 4
    assert [turn.round_index for turn in schedule] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [turn.measured for turn in schedule] == [False, False] + [True] * 6


def test_schedule_never_runs_a_peer_twice_in_a_row() -> None:
    names = [turn.contender for turn in alternation_schedule(["A", "B", "C"], rounds=4, warmup=2)]
    assert all(first != second for first, second in zip(names, names[1:]))
    assert names == ["A", "B", "C"] * 6


def test_mirrored_schedule_reverses_every_other_round() -> None:
    schedule = alternation_schedule(["A", "B", "C"], rounds=3, warmup=1, mirrored=True)
    assert [turn.contender for turn in schedule] == ["A", "B", "C", "C", "B", "A"] * 2
    assert [turn.round_index for turn in schedule] == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    assert [turn.measured for turn in schedule] == [False] * 3 + [True] * 9


def test_alternate_mirrored_keeps_each_peers_samples_in_round_order() -> None:
    calls: list[str] = []

    def contender(name: str):
        def sample() -> float:
            calls.append(name)
            return float(len(calls))

        return sample

    samples = alternate({"A": contender("A"), "B": contender("B")}, rounds=3, warmup=0, mirrored=True)
    assert calls == ["A", "B", "B", "A", "A", "B"]
    assert samples == {"A": [1.0, 4.0, 5.0], "B": [2.0, 3.0, 6.0]}


def test_schedule_without_warmup() -> None:
    assert alternation_schedule(["A"], rounds=2, warmup=0) == [Turn(0, "A", True), Turn(1, "A", True)]


@pytest.mark.parametrize("rounds, warmup, names", [(0, 1, ["A"]), (1, -1, ["A"]), (1, 0, ["A", "A"])])
def test_schedule_rejects_nonsense(rounds, warmup, names) -> None:
    with pytest.raises(ValueError):
        alternation_schedule(names, rounds=rounds, warmup=warmup)


def test_alternate_calls_in_schedule_order_and_drops_warmup() -> None:
    calls: list[str] = []
    counter = {"A": 0, "B": 0}

    def contender(name: str):
        def sample() -> float:
            calls.append(name)
            counter[name] += 1
            return float(counter[name])  # 1.0 is the warm-up value

        return sample

    rounds_seen: list[tuple] = []
    samples = alternate(
        {"A": contender("A"), "B": contender("B")},
        rounds=2,
        warmup=1,
        on_round=lambda index, total, measured: rounds_seen.append((index, total, measured)),
    )
    assert calls == ["A", "B", "A", "B", "A", "B"]
    assert samples == {"A": [2.0, 3.0], "B": [2.0, 3.0]}
    assert rounds_seen == [(0, 3, False), (1, 3, True), (2, 3, True)]


# --- workload arithmetic --------------------------------------------------


@pytest.mark.parametrize(
    "cpus, expected",
    [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (4, [1, 2, 4]), (6, [1, 2, 4, 6]), (16, [1, 2, 4, 8, 16])],
)
def test_worker_counts_double_up_to_the_cpu_count(cpus, expected) -> None:
    assert worker_counts(cpus) == expected


def test_split_evenly() -> None:
    assert split_evenly(16, 2) == [8, 8]
    assert split_evenly(10, 4) == [3, 3, 2, 2]
    assert sum(split_evenly(1000, 7)) == 1000
    with pytest.raises(ValueError):
        split_evenly(1, 0)


def test_every_pool_sample_follows_a_serial_one() -> None:
    pools: dict[str, Any] = {"pool a": object(), "pool b": object()}
    names = list(hashing_contenders(pools, gang=None, workers=2, piece_size=1, pieces=1))  # type: ignore[arg-type]
    assert len(names) == 5
    for pool_name in pools:
        assert names[names.index(pool_name) - 1].startswith(SERIAL)


def test_serial_samples_pool_round_by_round() -> None:
    samples = {"serial before a": [1.0, 3.0], "a": [5.0, 6.0], "serial before b": [3.0, 5.0], "b": [7.0, 8.0]}
    assert pool_serial_samples(samples) == {"a": [5.0, 6.0], "b": [7.0, 8.0], SERIAL: [2.0, 4.0]}


def test_ideal_sleep_time() -> None:
    assert ideal_sleep_seconds(1000) == pytest.approx(1000 / 64 * 0.005)


def test_full_sizes_are_the_specified_ones() -> None:
    assert FULL.burst_calls == 20_000
    assert FULL.pool_tasks == 100_000
    assert FULL.sleep_tasks == 1000
    assert FULL.memory_tasks == 1_000_000
    assert DEFAULT.memory_tasks == 200_000
    for field in ("roundtrip_calls", "burst_calls", "pool_tasks", "sha256_pieces", "grain_mib", "memory_tasks"):
        assert getattr(QUICK, field) <= getattr(DEFAULT, field) <= getattr(FULL, field)


def test_web_db_measures_one_concurrency_unless_asked_for_all() -> None:
    def connections(sizes, focused=()) -> set[int]:
        ctx = BenchContext(sizes=sizes, rounds=3, focused=frozenset(focused))
        cells, _ = web_db.plan_cells(ctx)
        assert len(cells) == len(web_db.ENDPOINTS) * len({cell.connections for cell in cells})
        return {cell.connections for cell in cells}

    assert connections(DEFAULT) == {64}
    assert connections(DEFAULT, ["web", "web_db"]) == connections(FULL) == {16, 64, 256}
    assert connections(QUICK) == {16}


def test_web_db_measures_the_concurrencies_asked_for_with_focused_cells() -> None:
    ctx = BenchContext(sizes=DEFAULT, rounds=3, connections=(256, 16))
    cells, seconds = web_db.plan_cells(ctx)
    assert [cell.connections for cell in cells] == [256] * len(web_db.ENDPOINTS) + [16] * len(web_db.ENDPOINTS)
    assert seconds == web.cell_seconds(ctx) > web_db.DEFAULT_SECONDS


def test_connections_option_parses_counts_and_rejects_nonsense(capsys) -> None:
    assert cli.parse_args(["--connections", "256, 16,256"]).connections == (256, 16)
    assert cli.parse_args([]).connections is None
    for bad in ("0", "x", ",", "16,-1"):
        with pytest.raises(SystemExit) as exited:
            cli.parse_args(["--connections", bad])
        assert exited.value.code == 2
    assert "--connections" in capsys.readouterr().err


def test_web_db_without_postgres_says_why_and_lets_the_bench_go_on(monkeypatch) -> None:
    for name in web_db.REQUIREMENTS:
        pytest.importorskip(name)

    def not_installed() -> str:
        raise postgres.PostgresUnavailable("PostgreSQL is not installed (test)")

    monkeypatch.setattr(postgres, "find_bindir", not_installed)
    ctx = BenchContext(sizes=QUICK, rounds=1, progress=Progress(io.StringIO()))
    assert web_db.run_web_db(ctx) == []
    assert ctx.notes == ["web_db skipped: PostgreSQL could not be started: PostgreSQL is not installed (test)"]


def test_load_rows_per_cell_and_one_errors_row_summed_per_round() -> None:
    slow, fast = web.Cell("a c1", "/a", 1), web.Cell("b c2", "/b", 2)

    def result(rate: float, errors: int) -> web.CellResult:
        return web.CellResult(load.LoadResult(requests_per_s=rate, p50_ms=1.0, p99_ms=2.0, errors=errors), 1e6 / rate)

    results = {
        STEALPOOL: {slow: [result(100, 0), result(110, 1)], fast: [result(200, 2), result(220, 0)]},
        web.STOCK: {slow: [result(50, 0), result(55, 0)], fast: [result(100, 0), result(100, 0)]},
    }
    rows = web.load_rows("web", [slow, fast], results, busy=True)
    assert [row.label for row in rows] == [
        "web [a c1 req/s, busy]",
        "web [a c1 p50, busy]",
        "web [a c1 p99, busy]",
        "web [a c1 server CPU, busy]",
        "web [b c2 req/s, busy]",
        "web [b c2 p50, busy]",
        "web [b c2 p99, busy]",
        "web [b c2 server CPU, busy]",
        "web [errors, busy]",
    ]
    assert rows[0].ratios[STEALPOOL] == pytest.approx(105 / 52.5)
    # Less CPU per request ranks better: stock's 1e6/52.5 against stealpool's 1e6/105.
    assert rows[3].unit == "us/request" and rows[3].ratios[STEALPOOL] == pytest.approx(105 / 52.5)
    assert rows[-1].samples == {STEALPOOL: [2.0, 1.0], web.STOCK: [0.0, 0.0]}
    assert rows[-1].params["errors_per_cell"][STEALPOOL] == {"a c1": [0, 1], "b c2": [2, 0]}


# --- report ----------------------------------------------------------------


def test_json_shape() -> None:
    data = json.loads(report.render_json(sample_report()))
    assert set(data) == REPORT_KEYS
    assert data["schema"] == report.SCHEMA
    assert data["settings"] == FAKE_SETTINGS
    assert data["machine"]["cpu_count"] == 2
    assert [row["label"] for row in data["rows"]] == ["burst [asyncio]", "sha256 [2 workers]", "floor [asyncio]"]
    for row in data["rows"]:
        assert set(row) == ROW_KEYS
    assert data["rows"][0]["ratios"][STEALPOOL] == pytest.approx(3.0)
    # Only peers that appear in some row are described.
    assert set(data["peers"]) == {STEALPOOL, STDLIB, "anyio", "process limit", "loop alone"}


def test_table_header_states_machine_and_convention() -> None:
    text = report.render_table(sample_report())
    header = text.split("\n\nworkload")[0]
    assert "CPython 3.11.7" in header
    assert "2026-01-02T03:04:05+00:00" in header
    assert "Linux-test" in header and "2 CPUs" in header
    assert "above 1 means stealpool is faster" in header
    assert "hypertile not importable" in header


def test_table_columns_and_cells() -> None:
    cells = report.table_cells(sample_report())
    header = cells[0]
    assert header[:5] == ["workload", "unit (better)", STEALPOOL, STDLIB, report.RATIO_HEADER]
    assert header[5:] == ["anyio", "process limit", "loop alone", "note"]
    burst, sha256, floor = cells[1:]
    assert burst[:5] == ["burst [asyncio]", "us/call (lower)", "11.0", "33.0", "3.00x"]
    assert burst[header.index("anyio")] == "63.0 (0.52x)"
    assert burst[header.index("process limit")] == report.MISSING
    assert sha256[header.index("process limit")] == "2.00"  # a reference: no ratio
    assert sha256[-1] == "serial 15 ms"
    assert floor[3] == report.MISSING and floor[4] == report.MISSING


@pytest.mark.parametrize("wide", [False, True])
def test_table_lines_up(wide: bool) -> None:
    lines = report.render_table(sample_report(), wide=wide).splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("workload"))
    header, rule = lines[start], lines[start + 1]
    assert set(rule.replace(" ", "")) == {"-"}
    # Every column boundary in the rule falls where the header has its gaps.
    assert len(header) <= len(rule)
    assert len(lines) == start + 2 + 3


def a_full_width_report() -> dict[str, Any]:
    """Rows with the longest labels and every peer a default run shows."""
    every_peer = {name: [50.0] for name in (STEALPOOL, STDLIB, *report.OTHER_COLUMN_ORDER[:5])}
    rows = [
        make_row("anyio_roundtrip", "asyncio", "us/call", LOWER_IS_BETTER, every_peer, note="x" * 80),
        make_row("sleep_fanout", "64 workers", "x ideal", LOWER_IS_BETTER, {STEALPOOL: [1.1], STDLIB: [1.14]}),
        make_row(
            "grain",
            "64 KiB",
            "MB/s",
            HIGHER_IS_BETTER,
            {STEALPOOL: [1093.0], STDLIB: [1044.0], "serial": [1266.0], "process limit": [2524.0]},
            references=["serial", "process limit"],
        ),
        make_row(
            "floor",
            "uvloop",
            "us/call",
            LOWER_IS_BETTER,
            {STEALPOOL: [6.89], "loop alone": [3.94]},
            baseline=None,
            references=["loop alone"],
        ),
    ]
    machine = dict(FAKE_MACHINE, platform="Linux-6.18.44-fc-v657-x86_64-with-glibc2.36", load_average_1min=0.79)
    return report.build_report(rows, machine, FAKE_SETTINGS, ["hypertile not importable (" + "y" * 120 + "): skipped"])


def test_default_table_fits_a_100_column_terminal_and_wide_has_the_rest() -> None:
    data = a_full_width_report()
    narrow = report.render_table(data)
    wide = report.render_table(data, wide=True)
    assert max(len(line) for line in narrow.splitlines()) <= report.NARROW_WIDTH
    assert max(len(line) for line in wide.splitlines()) > report.NARROW_WIDTH
    assert "hypertile" not in narrow.split("\n\nworkload")[1]  # a peer column only --wide shows
    assert "hypertile" in wide.split("\n\nworkload")[1]


def test_default_table_puts_stealpool_next_to_each_rows_baseline() -> None:
    anyio_row = make_row(
        "anyio_burst", "asyncio", "us/call", LOWER_IS_BETTER, {STEALPOOL: [30.0], "anyio": [60.0]}, baseline="anyio"
    )
    data = report.build_report([*sample_rows(), anyio_row], FAKE_MACHINE, FAKE_SETTINGS, [])
    header, burst, sha256, floor, anyio_burst = report.narrow_cells(data)
    assert header == ["workload", "unit (better)", STEALPOOL, "against", "median", "ratio", "process limit"]
    assert burst == ["burst [asyncio]", "us/call (lower)", "11.0", STDLIB, "33.0", "3.00x", report.MISSING]
    assert sha256[3:] == [STDLIB, "1.50", "1.27x", "2.00"]
    assert floor[3:] == ["loop alone", "3.00", report.MISSING, report.MISSING]  # no baseline: no ratio
    assert anyio_burst[3:6] == ["anyio", "60.0", "2.00x"]


@pytest.mark.parametrize(
    "value, text",
    [(None, "-"), (float("nan"), "-"), (1234.5, "1234"), (12.345, "12.3"), (1.2345, "1.23"), (0.12345, "0.123")],
)
def test_format_value(value, text) -> None:
    assert report.format_value(value) == text


def test_plot_series() -> None:
    data = sample_report()
    assert plot.ratio_series(data)[STEALPOOL] == {
        "burst [asyncio]": pytest.approx(3.0),
        "sha256 [2 workers]": pytest.approx(1.9 / 1.5),
    }
    scaling = plot.scaling_series(data)
    assert scaling[STEALPOOL] == [[2, 1.9]]
    assert scaling["process limit"] == [[2, 2.0]]


def test_plot_bars_centre_on_their_rows_label_whatever_peers_the_row_has() -> None:
    ratios = {"anyio": {"burst": 0.5}, STEALPOOL: {"burst": 3.0, "submit": 2.0}, "pool.run": {"burst": 2.5}}
    height, positions = plot.bar_layout(["burst", "submit"], ratios)
    assert height == pytest.approx(0.8 / 3)
    burst = [positions[peer]["burst"] for peer in (STEALPOOL, "anyio", "pool.run")]
    assert burst == pytest.approx([-height, 0.0, height])  # stealpool first, side by side around row 0
    assert positions[STEALPOOL]["submit"] == pytest.approx(1.0)  # alone: on row 1's label
    assert "submit" not in positions["anyio"]


def test_plot_panels_only_for_what_ran() -> None:
    data = sample_report()
    assert plot.panels(data) == ["ratios", "scaling"]
    data["rows"] = [row for row in data["rows"] if row["workload"] != "sha256"]
    assert plot.panels(data) == ["ratios"]
    data["rows"] = []
    assert plot.panels(data) == []


def test_plot_title_stamps_a_quick_run() -> None:
    data = sample_report()
    assert "QUICK" not in plot.title(data)
    data["settings"]["size"] = "quick"
    assert plot.title(data).startswith("QUICK RUN (--quick)")


@pytest.mark.parametrize("low, high", [(0.48, 11.05), (1.0, 1.0), (0.91, 4.4), (0.03, 250.0), (1.5, 2.5)])
def test_plot_ticks_span_the_ratios_twice_apart_with_1x(low: float, high: float) -> None:
    ticks = plot.ratio_ticks(low, high)
    assert 1.0 in ticks
    assert ticks[0] <= low and ticks[-1] >= high
    assert all(later / earlier >= 2 for earlier, later in zip(ticks, ticks[1:]))  # labels cannot touch


# --- command line ----------------------------------------------------------


def test_defaults() -> None:
    args = cli.parse_args([])
    assert args.workloads == list(WORKLOADS)
    assert args.sizes is DEFAULT
    assert args.rounds == DEFAULT.rounds
    assert not args.json and args.plot is None


def test_quick_and_full_pick_sizes() -> None:
    assert cli.parse_args(["--quick"]).sizes is QUICK
    assert cli.parse_args(["--quick"]).rounds == QUICK.rounds
    assert cli.parse_args(["--full"]).sizes is FULL


def test_rounds_override() -> None:
    assert cli.parse_args(["--quick", "--rounds", "7"]).rounds == 7


def test_only_takes_commas_and_repeats_in_given_order() -> None:
    args = cli.parse_args(["--only", "map, burst", "--only", "floor,burst"])
    assert args.workloads == ["map", "burst", "floor"]


def test_workload_names_are_the_documented_ones() -> None:
    assert set(WORKLOADS) == {
        "roundtrip",
        "fresh_roundtrip",
        "burst",
        "anyio_roundtrip",
        "anyio_burst",
        "submit",
        "map",
        "sha256",
        "grain",
        "sleep_fanout",
        "gil_stall",
        "memory",
        "floor",
        "web",
        "web_db",
        "nested_fib",
        "backpressure",
    }


@pytest.mark.parametrize(
    "argv",
    [["--only", "nope"], ["--only", ","], ["--quick", "--full"], ["--rounds", "0"], ["--rounds", "x"]],
)
def test_bad_arguments_exit_with_usage(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parse_args(argv)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_json_and_plot_flags() -> None:
    args = cli.parse_args(["--json", "--plot", "out.png"])
    assert args.json and args.plot == "out.png"
    assert not args.wide and cli.parse_args(["--wide"]).wide


def test_plot_is_written_where_the_command_ran_and_says_its_full_path(monkeypatch, tmp_path, capsys) -> None:
    drawn: list[str] = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "require_matplotlib", lambda: None)
    monkeypatch.setattr(cli, "run_workloads", lambda *args: sample_report())
    monkeypatch.setattr(cli, "draw", lambda data, path: drawn.append(path))
    assert cli.main(["--quick", "--only", "burst", "--plot", "out.png"]) == 0
    assert drawn == ["out.png"]
    assert "plot written to {}".format(tmp_path / "out.png") in capsys.readouterr().err


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes the import fail
    ran = []
    monkeypatch.setattr(cli, "run_workloads", lambda *args: ran.append(args))
    assert cli.main(["--quick", "--only", "burst", "--plot", "out.png"]) == 2
    assert "pip install matplotlib" in capsys.readouterr().err
    assert ran == []  # refused before spending any time


def test_progress_goes_to_its_stream_not_stdout(capsys) -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress.row("burst [asyncio]")
    progress.round(0, 3, False)
    progress.note("finished")
    assert "burst [asyncio]" in stream.getvalue() and "finished" in stream.getvalue()
    assert capsys.readouterr().out == ""


# --- loop hosts and the memory probe: plumbing, no clocks read -------------


def test_loop_host_runs_samples_on_its_own_loop_and_closes() -> None:
    seen: list[object] = []

    async def body(call, size: int) -> None:
        seen.append((threading.current_thread().name, size, await call(lambda: "ran")))

    host = LoopHost(LoopKind("asyncio", asyncio.new_event_loop), peers.stdlib_run_in_executor, "test")
    try:
        host.time(body, 3)
        host.time(body, 4)
    finally:
        host.close()
    assert [entry[1:] for entry in seen] == [(3, "ran"), (4, "ran")]
    assert all(entry[0].startswith("bench-test") for entry in seen)  # not the calling thread


def test_loop_host_passes_errors_back() -> None:
    async def body(call, size: int) -> None:
        raise KeyError("inside the sample")

    host = LoopHost(LoopKind("asyncio", asyncio.new_event_loop), peers.stdlib_run_in_executor, "test")
    try:
        with pytest.raises(KeyError, match="inside the sample"):
            host.time(body, 1)
    finally:
        host.close()


def test_loop_host_reports_a_failing_setup() -> None:
    def prepare(loop):
        raise RuntimeError("no such peer")

    with pytest.raises(RuntimeError, match="no such peer"):
        LoopHost(LoopKind("asyncio", asyncio.new_event_loop), prepare, "test")


def test_stealpool_peers_install_stealpool_and_the_stdlib_ones_do_not() -> None:
    async def executor_kind(call, size: int) -> None:
        kinds.append(type(asyncio.get_running_loop()._default_executor).__module__)

    for peer in peers.available_async_peers()[0]:
        if peer.name == "hypertile":
            continue
        kinds: list[str] = []
        host = LoopHost(LoopKind("asyncio", asyncio.new_event_loop), peer.prepare, peer.name)
        try:
            host.time(executor_kind, 0)
        finally:
            host.close()
        installs = peer.name in (STEALPOOL, "pool.run", "to_thread+install")
        assert kinds[0].startswith("stealpool") == installs, (peer.name, kinds)


@pytest.mark.parametrize("peer", [STDLIB, STEALPOOL])
def test_memory_probe_queues_every_task_behind_blocked_workers(peer) -> None:
    result = memory.measure(peer, tasks=500, workers=2)
    assert result["queued"] == 500  # none ran early: the workers really were blocked
    assert result["tasks"] == 500
    if sys.platform.startswith("linux"):
        assert isinstance(result["rss_before"], int) and isinstance(result["rss_after"], int)


@pytest.mark.parametrize("consumer", sorted(backpressure.CONSUMERS))
@pytest.mark.parametrize("peer", backpressure.PEERS)
def test_backpressure_probe_runs_each_peer_and_consumer(peer, consumer, capsys) -> None:
    assert backpressure.main([peer, "2000", "10", consumer]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tasks_per_s"] > 0
    if sys.platform.startswith("linux"):
        assert result["peak_rss"] > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the loops in /proc")
def test_busy_machine_runs_a_loop_per_core_and_stops_them() -> None:
    with busy.busy_machine(60) as loops:
        spinning = _busy_children()
        assert len(loops) == len(spinning) == (os.cpu_count() or 1)
        assert loops.all_spinning()
    assert _busy_children() == []


def test_busy_loops_say_when_their_time_limit_came_first() -> None:
    with busy.busy_machine(0) as loops:
        deadline = time.monotonic() + 30
        while loops.all_spinning() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not loops.all_spinning()


def _busy_children() -> list[int]:
    """Our child processes running the busy loop, from /proc (Linux)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if parent == os.getpid() and b"stealpool_bench.busy" in command:
            found.append(int(entry))
    return found


@pytest.mark.parametrize("client", ["wrk", "python"])
def test_load_drives_a_server_and_counts_its_errors(client, monkeypatch) -> None:
    pytest.importorskip("uvicorn")
    if client == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed: the Python client is the load generator here")
    if client == "python":
        which = shutil.which
        monkeypatch.setattr(load.shutil, "which", lambda name: None if name == "wrk" else which(name))
    with serving("stealpool_bench.web_server", "install") as port:
        result = load.run_load(port, ["/work", "/sleep"], 2, 1)
        assert result.requests_per_s > 0 and result.errors == 0
        assert 0 < result.p50_ms <= result.p99_ms
        missing = load.run_load(port, ["/nowhere"], 2, 1)
        assert missing.requests_per_s > 0 and missing.errors > 0  # every answer a 404
        in_flight.wait_until_idle(port, 60)


def test_in_flight_counts_the_requests_being_served() -> None:
    sent: list[dict] = []
    released: list[asyncio.Event] = []  # made on the running loop: before 3.10 an Event binds to a loop

    async def slow_app(scope, receive, send) -> None:
        await released[0].wait()

    async def record(message) -> None:
        sent.append(message)

    async def scenario() -> None:
        released.append(asyncio.Event())
        middleware = in_flight.InFlight(slow_app)
        serving = [asyncio.ensure_future(middleware({"type": "http", "path": "/work"}, None, record)) for _ in range(3)]
        await asyncio.sleep(0)
        await middleware({"type": "http", "path": in_flight.PATH}, None, record)
        released[0].set()
        await asyncio.gather(*serving)
        await middleware({"type": "http", "path": in_flight.PATH}, None, record)

    asyncio.run(scenario())
    answers = [message["body"].split() for message in sent if message["type"] == "http.response.body"]
    # In flight, then finished (the /in-flight requests themselves never count), then CPU seconds.
    assert [answer[:2] for answer in answers] == [[b"3", b"0"], [b"0", b"3"]]
    assert 0 < float(answers[0][2]) <= float(answers[1][2])


def test_a_cell_reads_the_servers_cpu_per_request_it_finished() -> None:
    pytest.importorskip("uvicorn")
    cell = web.Cell("sha256 c2", "/work", 2)
    results: list[web.CellResult] = []
    web.measure_server("stealpool_bench.web_server", ["install"], [web.Measurement(cell, cell.path, results)], 1)
    (result,) = results
    assert result.load.requests_per_s > 0 and result.load.errors == 0
    # Some CPU per request, and no more than every core for the time each request took.
    cores_plus_drain = (os.cpu_count() or 1) + 1
    assert 0 < result.server_cpu_us < 1e6 / result.load.requests_per_s * cores_plus_drain


def test_cpu_per_request_refuses_a_cell_with_no_request_finished() -> None:
    idle = in_flight.ServerWork(served=5, cpu_s=1.0)
    assert web.cpu_per_request_us(idle, in_flight.ServerWork(served=9, cpu_s=1.002)) == pytest.approx(500)
    with pytest.raises(RuntimeError, match="no request"):
        web.cpu_per_request_us(idle, in_flight.ServerWork(served=5, cpu_s=1.5))


# --- the real command, once, as small as it gets ---------------------------


def test_quick_burst_json_smoke() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "stealpool_bench", "--quick", "--only", "burst", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr
    data = json.loads(finished.stdout)
    assert set(data) == REPORT_KEYS
    assert data["settings"]["workloads"] == ["burst"]
    assert data["settings"]["size"] == "quick"
    assert data["rows"], "no rows"
    for row in data["rows"]:
        assert set(row) == ROW_KEYS
        assert row["workload"] == "burst"
        assert {STEALPOOL, STDLIB} <= set(row["medians"])
        assert all(math.isfinite(value) and value > 0 for value in row["medians"].values())
        assert all(len(values) == QUICK.rounds for values in row["samples"].values())
    assert "asyncio" in [row["variant"] for row in data["rows"]]
    assert "burst" in finished.stderr  # progress lines went to stderr
