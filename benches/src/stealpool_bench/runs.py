"""Several runs of the bench as one table: what the README's results are.

    python -m stealpool_bench.runs RUN.json [RUN.json ...]

``RUNS=N bash scripts/bench`` runs the harness N times (``--json``, each a
process of its own) and prints this. One run's medians can be swung by
whatever else the machine did during it; several runs show how far. Per
row: stealpool's median and its ratio's baseline (or reference) median,
each the median over runs of that run's median; the ratio, the median of
the runs' ratios (each one stealpool against its baseline within the same
run, where the peers alternated round by round); and the lowest and
highest of those ratios. Then each run's date and the load average when it
started, the figure that says whether the machine was quiet.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from .report import MISSING, aligned_lines, compared_with, format_ratio, format_value
from .results import STEALPOOL, median

HEADER = ["workload", "unit (better)", STEALPOOL, "against", "median", "ratio", "ratio range"]


def combined_cells(reports: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Header row, then one row of cells per row label, in the first report's order."""
    labels: list[str] = []
    for report in reports:
        labels += [row["label"] for row in report["rows"] if row["label"] not in labels]
    cells = [HEADER]
    for label in labels:
        rows = [row for report in reports for row in report["rows"] if row["label"] == label]
        against = compared_with(rows[0])
        ratios = [row["ratios"][STEALPOOL] for row in rows if row["ratios"].get(STEALPOOL) is not None]
        cells.append(
            [
                label,
                "{} ({})".format(rows[0]["unit"], rows[0]["better"]),
                format_value(median_of(rows, STEALPOOL)),
                against or MISSING,
                format_value(None if against is None else median_of(rows, against)),
                format_ratio(median(ratios) if ratios else None),
                f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else MISSING,
            ]
        )
    return cells


def median_of(rows: Sequence[dict[str, Any]], column: str) -> float | None:
    values = [row["medians"][column] for row in rows if row["medians"].get(column) is not None]
    return median(values) if values else None


def render(reports: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"{len(reports)} runs; cells are medians over runs of each run's median, the ratio the median "
        "of the runs' ratios (> 1: stealpool faster), its range the lowest and highest run",
        "",
    ]
    lines += aligned_lines(combined_cells(reports), left_aligned={0, 1, 3})
    lines.append("")
    for number, report in enumerate(reports, 1):
        machine = report["machine"]
        lines.append(
            "run {}: {}, CPython {}, {} CPUs, load average {} at start".format(
                number,
                machine["date"],
                machine["python"],
                machine["cpu_count"],
                machine.get("load_average_1min", "unknown"),
            )
        )
        lines += ["  note: " + note for note in report["notes"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stealpool_bench.runs",
        description="Combine several `python -m stealpool_bench --json` reports into one table.",
    )
    parser.add_argument("reports", nargs="+", metavar="RUN.json")
    arguments = parser.parse_args(argv)
    reports = []
    for path in arguments.reports:
        with open(path, encoding="utf-8") as file:
            reports.append(json.load(file))
    print(render(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
