"""--plot: ratios to the stdlib per row, and sha256 speedup against worker count.

Reads the JSON-shaped report, so a saved ``--json`` output could be drawn too.
matplotlib is optional: ``require_matplotlib`` is checked before any
benchmark runs, so a missing package costs nothing but an error message.
"""

from __future__ import annotations

import math
from typing import Any

from .results import STDLIB, STEALPOOL


class PlotUnavailable(RuntimeError):
    pass


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise PlotUnavailable(
            f"--plot needs matplotlib, which does not import here ({exc}): pip install matplotlib"
        ) from None


def ratio_series(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """peer -> {row label: ratio to stdlib}, rows without ratios left out."""
    series: dict[str, dict[str, float]] = {}
    for row in report["rows"]:
        for peer, ratio in row["ratios"].items():
            if ratio is not None:
                series.setdefault(peer, {})[row["label"]] = ratio
    return series


def scaling_series(report: dict[str, Any]) -> dict[str, list[list[float]]]:
    """peer -> [[workers, speedup], ...] from the sha256 rows, by worker count."""
    series: dict[str, list[list[float]]] = {}
    rows = sorted(
        (row for row in report["rows"] if row["workload"] == "sha256"), key=lambda row: row["params"]["workers"]
    )
    for row in rows:
        for peer, speedup in row["medians"].items():
            series.setdefault(peer, []).append([row["params"]["workers"], speedup])
    return series


def ratio_ticks(low: float, high: float) -> list[float]:
    """1-2-5 steps (0.5x, 1x, 2x, 5x, 10x ...) from below ``low`` to above ``high``, 1x always in.

    At least twice apart, so on a log axis their labels never run into each other.
    """
    low, high = min(low, 1.0), max(high, 1.0)
    ticks: list[float] = []
    decade = 10.0 ** math.floor(math.log10(low))
    while not ticks or ticks[-1] < high:
        for step in (1.0, 2.0, 5.0):
            tick = round(decade * step, 12)
            if tick * 2.5 > low and (not ticks or ticks[-1] < high):
                ticks.append(tick)
        decade *= 10
    return ticks


def draw(report: dict[str, Any], path: str) -> None:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ratios = ratio_series(report)
    scaling = scaling_series(report)
    labels = [row["label"] for row in report["rows"] if row["ratios"]]
    figure, (ratio_axes, scaling_axes) = plt.subplots(1, 2, figsize=(14, max(4.0, 0.35 * len(labels) + 2)))

    peers = [STEALPOOL] + [peer for peer in ratios if peer != STEALPOOL]
    bar_height = 0.8 / max(len(peers), 1)
    for index, peer in enumerate(peers):
        values = ratios.get(peer, {})
        positions = [position + index * bar_height for position, label in enumerate(labels) if label in values]
        # Bars grow from 1x, so a peer slower than the baseline points left of the line.
        widths = [values[label] - 1.0 for label in labels if label in values]
        ratio_axes.barh(positions, widths, left=1.0, height=bar_height, label=peer)
    ratio_axes.axvline(1.0, color="black", linewidth=1)
    ratio_axes.set_yticks([position + 0.4 - bar_height / 2 for position in range(len(labels))])
    ratio_axes.set_yticklabels(labels)
    ratio_axes.invert_yaxis()
    ratio_axes.set_xscale("log")
    every_ratio = [value for values in ratios.values() for value in values.values()] or [1.0]
    ticks = ratio_ticks(min(every_ratio), max(every_ratio))
    ratio_axes.set_xlim(ticks[0], ticks[-1])
    # Plain "2x" ticks: ratios read as multiples, not as powers of ten.
    ratio_axes.xaxis.set_major_locator(FixedLocator(ticks))
    ratio_axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    ratio_axes.xaxis.set_minor_locator(NullLocator())
    ratio_axes.set_xlabel("ratio to the row's baseline (> 1: faster, < 1: slower)")
    ratio_axes.set_title(f"Each peer against the baseline ({STDLIB}; stock anyio in anyio_* and web)")
    ratio_axes.legend(fontsize="small", loc="best")

    if scaling:
        for peer, points in scaling.items():
            scaling_axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=peer)
        most = max(p[0] for points in scaling.values() for p in points)
        scaling_axes.set_xticks(sorted({p[0] for points in scaling.values() for p in points}))
        scaling_axes.plot([1, most], [1, most], linestyle="--", color="grey", label="linear")
        scaling_axes.legend(fontsize="small")
    else:
        scaling_axes.text(0.5, 0.5, "sha256 not run", ha="center", va="center", transform=scaling_axes.transAxes)
    scaling_axes.set_xlabel("workers")
    scaling_axes.set_ylabel("speedup over serial")
    scaling_axes.set_title("sha256 of 1 MiB pieces")

    machine = report["machine"]
    figure.suptitle(
        "stealpool_bench, {} {}, {} CPUs, {}".format(
            machine["implementation"], machine["python"], machine["cpu_count"], machine["date"]
        )
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
