"""scripts/compare_bench.py, the arithmetic behind `scripts/bench --against` and
scripts/compare-abi3: ratios per pair of runs, each row's better direction,
and the rows it cannot compare. Reports are made by the harness's own
``build_report``, so a change to the ``--json`` shape that the comparison
does not follow fails here. Also lib.sh's choice of the harness each build
runs, which lets REF be a commit from before the harness left the package.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from stealpool_bench import report
from stealpool_bench.results import HIGHER_IS_BETTER, LOWER_IS_BETTER, STDLIB, STEALPOOL, make_row

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "compare_bench.py"
MACHINE = {"python": "3.12.1", "implementation": "CPython", "date": "2026-01-02T03:04:05+00:00", "cpu_count": 2}
SETTINGS = {"size": "quick", "rounds": 2, "warmup_rounds": 1, "workloads": ["burst", "sha256"]}


def load_script():
    spec = importlib.util.spec_from_file_location("compare_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up here to resolve its string annotations.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


compare_bench = load_script()


def write_report(path: Path, rows) -> str:
    path.write_text(report.render_json(report.build_report(rows, MACHINE, SETTINGS, [])))
    return str(path)


def burst(stealpool_us: float, extra_workload: str = "burst") -> object:
    # The stdlib column is not stealpool's and must not be compared.
    return make_row(extra_workload, "asyncio", "us/call", LOWER_IS_BETTER, {STEALPOOL: [stealpool_us], STDLIB: [50.0]})


def sha256(speedup: float, unit: str = "x serial") -> object:
    return make_row("sha256", "2 workers", unit, HIGHER_IS_BETTER, {STEALPOOL: [speedup], STDLIB: [1.0]})


@pytest.fixture
def reports(tmp_path):
    """Two runs of each side; the other side's only extra row is ``roundtrip``, the base's ``floor``."""
    base = [
        write_report(tmp_path / "base-1.json", [burst(10.0), sha256(2.0), burst(4.0, "floor")]),
        write_report(tmp_path / "base-2.json", [burst(20.0), sha256(1.0), burst(4.0, "floor")]),
    ]
    other = [
        write_report(tmp_path / "other-1.json", [burst(5.0), sha256(1.0), burst(30.0, "roundtrip")]),
        write_report(tmp_path / "other-2.json", [burst(20.0), sha256(1.5), burst(30.0, "roundtrip")]),
    ]
    return base, other


def compared_speeds(comparison):
    return {row.key: (row.speeds, row.speed) for row in comparison.compared}


def test_lower_is_better_rows_compare_time_base_over_other_per_pair(reports):
    base, other = reports
    comparison = compare_bench.compare(compare_bench.load(base), compare_bench.load(other))
    # Pair 1: 10 us against 5 us is twice as fast; pair 2: 20 against 20 is even.
    assert compared_speeds(comparison)[("burst [asyncio]", "stealpool")] == ([2.0, 1.0], 1.5)


def test_higher_is_better_rows_compare_other_over_base_per_pair(reports):
    base, other = reports
    comparison = compare_bench.compare(compare_bench.load(base), compare_bench.load(other))
    # Pair 1: a speedup of 1 against 2 is half as good; pair 2: 1.5 against 1.
    assert compared_speeds(comparison)[("sha256 [2 workers]", "stealpool")] == ([0.5, 1.5], 1.0)


def test_only_stealpool_columns_are_compared(reports):
    base, other = reports
    comparison = compare_bench.compare(compare_bench.load(base), compare_bench.load(other))
    assert {column for _, column in compared_speeds(comparison)} == {"stealpool"}


def test_rows_only_one_side_has_are_skipped_by_side(reports):
    base, other = reports
    comparison = compare_bench.compare(compare_bench.load(base), compare_bench.load(other))
    assert comparison.only_other == [("roundtrip [asyncio]", "stealpool")]
    assert comparison.only_base == [("floor [asyncio]", "stealpool")]


def test_a_row_missing_from_one_run_drops_only_that_pair(tmp_path):
    base = [
        write_report(tmp_path / "base-1.json", [burst(10.0), sha256(2.0)]),
        write_report(tmp_path / "base-2.json", [burst(10.0)]),
    ]
    other = [
        write_report(tmp_path / "other-1.json", [burst(10.0), sha256(4.0)]),
        write_report(tmp_path / "other-2.json", [burst(10.0), sha256(1.0)]),
    ]
    comparison = compare_bench.compare(compare_bench.load(base), compare_bench.load(other))
    assert compared_speeds(comparison)[("sha256 [2 workers]", "stealpool")] == ([2.0], 2.0)


def test_a_row_whose_unit_changed_is_skipped_not_compared(tmp_path):
    base = [write_report(tmp_path / "base.json", [burst(10.0), sha256(2.0)])]
    other = [write_report(tmp_path / "other.json", [burst(10.0), sha256(2.0, unit="x ideal")])]
    comparison = compare_bench.compare(compare_bench.load(base), compare_bench.load(other))
    assert [key for key, _, _ in comparison.changed] == [("sha256 [2 workers]", "stealpool")]
    assert list(compared_speeds(comparison)) == [("burst [asyncio]", "stealpool")]


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_printed_table_names_both_sides_and_the_slowest_row(reports):
    base, other = reports
    result = run_script("--base-name", "main (abc1234)", "--other-name", "this tree", ",".join(base), ",".join(other))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "main (abc1234) runs" in lines[0] and "this tree runs" in lines[0]
    burst_line = next(line for line in lines if line.startswith("burst [asyncio]"))
    # Each side's median and range over runs, then the median speed and its range over pairs.
    assert burst_line.split()[-6:] == ["15", "10-20", "12.5", "5-20", "1.50x", "1-2"]
    assert "this tree against main (abc1234): slowest row sha256 [2 workers] / stealpool at 1.00x" in result.stdout
    assert "skipped, only this tree has: roundtrip [asyncio] / stealpool" in lines
    assert "skipped, only main (abc1234) has: floor [asyncio] / stealpool" in lines


def test_no_row_in_common_is_a_failure(tmp_path):
    base = write_report(tmp_path / "base.json", [burst(10.0, "floor")])
    other = write_report(tmp_path / "other.json", [burst(10.0, "roundtrip")])
    result = run_script(base, other)
    assert result.returncode == 1
    assert "no row in common: nothing compared" in result.stdout


def bench_harness(venv: Path) -> str:
    command = 'source scripts/lib.sh && bench_harness "$1"'
    done = subprocess.run(["bash", "-c", command, "bash", str(venv)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_build_without_the_harness_distribution_runs_the_packages_own(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # A build from before the move: stealpool.bench came inside stealpool, and no stealpool_bench.
    assert bench_harness(venv) == "stealpool.bench"
    site_packages = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site_packages) / "stealpool_bench").mkdir()
    (Path(site_packages) / "stealpool_bench" / "__init__.py").write_text("")
    assert bench_harness(venv) == "stealpool_bench"
