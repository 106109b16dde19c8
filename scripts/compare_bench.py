"""Compares two sets of `python -m stealpool.bench --json` reports, run by run.

    python scripts/compare_bench.py BASE.json[,BASE.json...] OTHER.json[,OTHER.json...]

For each row and each stealpool column it prints the median over runs of
each side's medians, the spread (lowest-highest run) and OTHER's speed
relative to BASE (> 1: OTHER is faster; the row's better direction is taken
into account), then the worst such ratio. scripts/compare-abi3 uses it.
"""

import json
import statistics
import sys

# The columns that run stealpool; the others are the stdlib, peers and references.
STEALPOOL_COLUMNS = ("stealpool", "pool.run", "to_thread+install")


def load(paths):
    reports = []
    for path in paths.split(","):
        with open(path) as report:
            reports.append(json.load(report))
    rows = {}
    for report in reports:
        for row in report["rows"]:
            for column in STEALPOOL_COLUMNS:
                value = row["medians"].get(column)
                if value is not None:
                    key = (row["label"], column)
                    rows.setdefault(key, {"unit": row["unit"], "better": row["better"], "values": []})
                    rows[key]["values"].append(value)
    return rows


def spread(values):
    return "{:.3g}-{:.3g}".format(min(values), max(values))


def main(base_paths, other_paths):
    base, other = load(base_paths), load(other_paths)
    print("{:<28} {:<18} {:<18} {:>9} {:>19} {:>9} {:>19} {:>7}".format(
        "row", "column", "unit", "base", "base runs", "other", "other runs", "speed"))
    worst = None
    for key, base_row in base.items():
        if key not in other:
            continue
        b, o = statistics.median(base_row["values"]), statistics.median(other[key]["values"])
        speed = o / b if base_row["better"] == "higher" else b / o
        if worst is None or speed < worst[1]:
            worst = (key, speed)
        print("{:<28} {:<18} {:<18} {:>9.3g} {:>19} {:>9.3g} {:>19} {:>6.2f}x".format(
            key[0], key[1], "{} ({})".format(base_row["unit"], base_row["better"]),
            b, spread(base_row["values"]), o, spread(other[key]["values"]), speed))
    if worst is not None:
        print("slowest relative to base: {} / {} at {:.2f}x".format(worst[0][0], worst[0][1], worst[1]))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
