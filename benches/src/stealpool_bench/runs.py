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

    python -m stealpool_bench.runs --paired RUN.json [RUN.json ...]

prints instead, per row, every round's ratio pooled over the runs (within
a round the peers ran back to back, so a round's two samples pair): how
many rounds, how many of them below 1, their geometric mean, and a 90%
bootstrap interval of that mean. Where single cells swing from run to run
(the web rows on two shared cores), an interval that lies wholly below 1
is what a regression looks like, and one that straddles 1 is a cell the
runs cannot tell from a tie.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from collections.abc import Sequence
from typing import Any

from .report import MISSING, aligned_lines, compared_with, format_ratio, format_value
from .results import STEALPOOL, median, ratio_to_baseline

HEADER = ["workload", "unit (better)", STEALPOOL, "against", "median", "ratio", "ratio range"]
PAIRED_HEADER = ["workload", "against", "rounds", "below 1", "geometric mean", "90% interval"]
RESAMPLES = 4000


def combined_cells(reports: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Header row, then one row of cells per row label, in the first report's order."""
    cells = [HEADER]
    for label in labels_in_order(reports):
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


def labels_in_order(reports: Sequence[dict[str, Any]]) -> list[str]:
    """Every row label of the reports, in the order the first report to have it gives it."""
    labels: list[str] = []
    for report in reports:
        labels += [row["label"] for row in report["rows"] if row["label"] not in labels]
    return labels


def median_of(rows: Sequence[dict[str, Any]], column: str) -> float | None:
    values = [row["medians"][column] for row in rows if row["medians"].get(column) is not None]
    return median(values) if values else None


def paired_ratios(rows: Sequence[dict[str, Any]]) -> list[float]:
    """Every round's ratio of stealpool to the row's baseline, over the runs' rows of one label."""
    ratios = []
    for row in rows:
        samples = row["samples"]
        if row["baseline"] not in samples or STEALPOOL not in samples:
            continue
        for ours, theirs in zip(samples[STEALPOOL], samples[row["baseline"]]):
            ratio = ratio_to_baseline(ours, theirs, row["better"])
            if ratio is not None:
                ratios.append(ratio)
    return ratios


def geometric_mean_interval(ratios: Sequence[float], rng: random.Random) -> tuple[float, float, float]:
    """The geometric mean of ``ratios`` and a 90% percentile-bootstrap interval around it."""
    logs = [math.log(ratio) for ratio in ratios]
    means = sorted(statistics.fmean(rng.choices(logs, k=len(logs))) for _ in range(RESAMPLES))
    low, high = means[RESAMPLES // 20], means[RESAMPLES - 1 - RESAMPLES // 20]
    return math.exp(statistics.fmean(logs)), math.exp(low), math.exp(high)


def paired_cells(reports: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Header row, then a row per label that has a baseline, in the first report's order."""
    rng = random.Random(0)  # the same reports print the same intervals
    cells = [PAIRED_HEADER]
    for label in labels_in_order(reports):
        rows = [row for report in reports for row in report["rows"] if row["label"] == label]
        ratios = paired_ratios(rows)
        if not ratios:
            continue
        mean, low, high = geometric_mean_interval(ratios, rng)
        below = sum(ratio < 1 for ratio in ratios)
        against = rows[0]["baseline"]
        cells.append([label, against, str(len(ratios)), str(below), format_ratio(mean), f"{low:.2f}-{high:.2f}"])
    return cells


def render_paired(reports: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"{len(reports)} runs; per row, every round's ratio (> 1: stealpool faster) pooled over the runs",
        "",
    ]
    lines += aligned_lines(paired_cells(reports), left_aligned={0, 1})
    return "\n".join(lines)


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
    parser.add_argument(
        "--paired",
        action="store_true",
        help="per row: every round's ratio pooled over the runs, its geometric mean and a 90%% interval",
    )
    parser.add_argument("reports", nargs="+", metavar="RUN.json")
    arguments = parser.parse_args(argv)
    reports = []
    for path in arguments.reports:
        with open(path, encoding="utf-8") as file:
            reports.append(json.load(file))
    print(render_paired(reports) if arguments.paired else render(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
