"""Compares two sets of `python -m stealpool_bench --json` reports, run by run.

    python scripts/compare_bench.py [--base-name NAME] [--other-name NAME] BASE.json[,BASE.json...] OTHER.json[,...]

The Nth BASE report and the Nth OTHER report are one pair: they ran back to
back (scripts/lib.sh's compare_alternately), so a machine that slows down
during the whole run slows both. For each row and each stealpool column it
prints the median over runs of each side's medians with the spread
(lowest-highest run), and OTHER's speed relative to BASE: the median over
pairs of OTHER's ratio to BASE in the same pair, with the lowest-highest
pair. > 1: OTHER is faster, the row's better direction taken into account.
Then the worst such ratio, and the rows it could not compare (a row only one
side's harness has, or whose unit or direction changed between them).
scripts/compare-abi3 and `scripts/bench --against` use it.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass

# The columns that run stealpool; the others are the stdlib, peers and references.
STEALPOOL_COLUMNS = ("stealpool", "pool.run", "to_thread+install")

Key = tuple[str, str]  # (row label, column)


@dataclass
class Measured:
    """One row and column across runs; a run that lacked it holds None."""

    unit: str
    better: str
    values: list[float | None]

    @property
    def present(self) -> list[float]:
        return [value for value in self.values if value is not None]


@dataclass
class Compared:
    key: Key
    base: Measured
    other: Measured
    speeds: list[float]  # OTHER against BASE, one per pair of runs that both have the row

    @property
    def speed(self) -> float:
        return float(statistics.median(self.speeds))


@dataclass
class Comparison:
    compared: list[Compared]
    only_base: list[Key]
    only_other: list[Key]
    changed: list[tuple[Key, Measured, Measured]]  # the unit or the better direction differs
    unpaired: list[Key]  # both sides have it, but no pair of runs measured it on both


def load(paths: list[str]) -> dict[Key, Measured]:
    reports = []
    for path in paths:
        with open(path) as report:
            reports.append(json.load(report))
    rows: dict[Key, Measured] = {}
    for run, report in enumerate(reports):
        for row in report["rows"]:
            for column in STEALPOOL_COLUMNS:
                value = row["medians"].get(column)
                if value is not None:
                    measured = rows.setdefault(
                        (row["label"], column), Measured(row["unit"], row["better"], [None] * len(reports))
                    )
                    measured.values[run] = value
    return rows


def speed(base: float, other: float, better: str) -> float:
    """How many times faster OTHER is than BASE: > 1 means OTHER is better."""
    return other / base if better == "higher" else base / other


def compare(base: dict[Key, Measured], other: dict[Key, Measured]) -> Comparison:
    result = Comparison(
        compared=[],
        only_base=[key for key in base if key not in other],
        only_other=[key for key in other if key not in base],
        changed=[],
        unpaired=[],
    )
    for key, base_row in base.items():
        other_row = other.get(key)
        if other_row is None:
            continue
        if (base_row.unit, base_row.better) != (other_row.unit, other_row.better):
            result.changed.append((key, base_row, other_row))
            continue
        speeds = [
            speed(b, o, base_row.better)
            for b, o in zip(base_row.values, other_row.values)
            if b is not None and o is not None and b > 0 and o > 0
        ]
        if speeds:
            result.compared.append(Compared(key, base_row, other_row, speeds))
        else:
            result.unpaired.append(key)
    return result


def spread(values: list[float]) -> str:
    return f"{min(values):.3g}-{max(values):.3g}"


def describe(keys: list[Key]) -> str:
    return ", ".join("{} / {}".format(*key) for key in keys)


def render(comparison: Comparison, base_name: str, other_name: str) -> list[str]:
    # Each side's columns are as wide as its name, which may be a ref like "HEAD~3 (3e4a546)".
    bw, ow = max(9, len(base_name)), max(9, len(other_name))
    brw, orw = max(19, len(base_name) + 5), max(19, len(other_name) + 5)
    lines = [
        f"{'row':<28} {'column':<18} {'unit':<18} {base_name:>{bw}} {base_name + ' runs':>{brw}} "
        f"{other_name:>{ow}} {other_name + ' runs':>{orw}} {'speed':>7} {'pair range':>11}"
    ]
    for row in comparison.compared:
        b, o = row.base.present, row.other.present
        (label, column), unit = row.key, f"{row.base.unit} ({row.base.better})"
        lines.append(
            f"{label:<28} {column:<18} {unit:<18} {statistics.median(b):>{bw}.3g} {spread(b):>{brw}} "
            f"{statistics.median(o):>{ow}.3g} {spread(o):>{orw}} {row.speed:>6.2f}x {spread(row.speeds):>11}"
        )
    if comparison.compared:
        worst = min(comparison.compared, key=lambda row: row.speed)
        lines.append(
            f"{other_name} against {base_name}: slowest row {describe([worst.key])} "
            f"at {worst.speed:.2f}x (pairs {spread(worst.speeds)})"
        )
    else:
        lines.append("no row in common: nothing compared")
    if comparison.only_other:
        lines.append(f"skipped, only {other_name} has: {describe(comparison.only_other)}")
    if comparison.only_base:
        lines.append(f"skipped, only {base_name} has: {describe(comparison.only_base)}")
    for key, base_row, other_row in comparison.changed:
        lines.append(
            f"skipped, measured differently: {describe([key])} is {base_row.unit} ({base_row.better}) "
            f"in {base_name}, {other_row.unit} ({other_row.better}) in {other_name}"
        )
    if comparison.unpaired:
        lines.append(f"skipped, no pair of runs measured on both sides: {describe(comparison.unpaired)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="BASE's reports, comma-separated, in run order")
    parser.add_argument("other", help="OTHER's reports, comma-separated, in the same run order")
    parser.add_argument("--base-name", default="base")
    parser.add_argument("--other-name", default="other")
    args = parser.parse_args(argv)
    comparison = compare(load(args.base.split(",")), load(args.other.split(",")))
    print("\n".join(render(comparison, args.base_name, args.other_name)))
    return 0 if comparison.compared else 1


if __name__ == "__main__":
    raise SystemExit(main())
