"""--plot: ratios to the stdlib per row, and sha256 speedup against worker count.

Reads the JSON-shaped report, so a saved ``--json`` output could be drawn too.
matplotlib is optional: ``require_matplotlib`` is checked before any
benchmark runs, so a missing package costs nothing but an error message.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .results import STDLIB, STEALPOOL

if TYPE_CHECKING:  # matplotlib is optional: imported only once a plot is asked for
    from matplotlib.axes import Axes


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


def peer_order(ratios: dict[str, dict[str, float]]) -> list[str]:
    """The peers with ratios, stealpool first, then as the report lists them."""
    return sorted(ratios, key=lambda peer: peer != STEALPOOL)


def bar_layout(labels: list[str], ratios: dict[str, dict[str, float]]) -> tuple[float, dict[str, dict[str, float]]]:
    """The bars' height, and peer -> {row label: the bar's y}.

    Row ``i``'s label sits at y = ``i``; the bars of the peers that row has
    lie side by side centred on it, so a row with fewer peers than another
    is still read against its own label.
    """
    peers = peer_order(ratios)
    per_row = [[peer for peer in peers if label in ratios[peer]] for label in labels]
    height = 0.8 / max([len(row_peers) for row_peers in per_row] + [1])
    positions: dict[str, dict[str, float]] = {}
    for row_index, (label, row_peers) in enumerate(zip(labels, per_row)):
        first = row_index - height * (len(row_peers) - 1) / 2
        for slot, peer in enumerate(row_peers):
            positions.setdefault(peer, {})[label] = first + slot * height
    return height, positions


def is_quick(report: dict[str, Any]) -> bool:
    return bool(report["settings"]["size"] == "quick")


def title(report: dict[str, Any]) -> str:
    """The machine and date; a --quick run says first that its figures are only a smoke test."""
    machine = report["machine"]
    text = "stealpool_bench, {} {}, {} CPUs, {}".format(
        machine["implementation"], machine["python"], machine["cpu_count"], machine["date"]
    )
    if is_quick(report):
        text = "QUICK RUN (--quick): smoke-test sizes and rounds, not figures to compare\n" + text
    return text


def ratio_labels(report: dict[str, Any]) -> list[str]:
    """The rows of the ratio panel, in the report's order."""
    return [row["label"] for row in report["rows"] if row["ratios"]]


def panels(report: dict[str, Any]) -> list[str]:
    """ "ratios" and "scaling", each only where the run measured it: --only burst has no sha256 to draw."""
    return [name for name, shown in (("ratios", ratio_labels(report)), ("scaling", scaling_series(report))) if shown]


def draw(report: dict[str, Any], path: str) -> None:
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, none opened
    import matplotlib.pyplot as plt

    ratios = ratio_series(report)
    scaling = scaling_series(report)
    labels = ratio_labels(report)
    shown = panels(report)
    figure, axes = plt.subplots(
        1,
        max(len(shown), 1),
        figsize=(7 * max(len(shown), 1) + 2, max(4.0, 0.35 * len(labels) + 2.5)),
        layout="constrained",
        squeeze=False,
    )
    # One color per peer in both panels.
    every_peer = peer_order(ratios) + [peer for peer in scaling if peer not in ratios]
    colors = {peer: f"C{index}" for index, peer in enumerate(every_peer)}
    for panel, panel_axes in zip(shown, axes[0]):
        if panel == "ratios":
            draw_ratios(panel_axes, labels, ratios, colors)
        else:
            draw_scaling(panel_axes, scaling, colors)
    if not shown:
        axes[0][0].text(0.5, 0.5, "no row has a ratio or a speedup to draw", ha="center", va="center")
        axes[0][0].set_axis_off()
    figure.suptitle(title(report), color="firebrick" if is_quick(report) else "black")
    figure.savefig(path, dpi=120)
    plt.close(figure)


def draw_ratios(axes: Axes, labels: list[str], ratios: dict[str, dict[str, float]], colors: dict[str, str]) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    height, positions = bar_layout(labels, ratios)
    for peer in peer_order(ratios):
        placed = positions.get(peer, {})
        # Bars grow from 1x, so a peer slower than the baseline points left of the line.
        axes.barh(
            list(placed.values()),
            [ratios[peer][label] - 1.0 for label in placed],
            left=1.0,
            height=height,
            label=peer,
            color=colors[peer],
        )
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_yticks(range(len(labels)))
    axes.set_yticklabels(labels)
    axes.set_ylim(len(labels) - 0.5, -0.5)  # first row on top, no margin wider than half a row
    axes.set_xscale("log")
    every_ratio = [value for values in ratios.values() for value in values.values()] or [1.0]
    ticks = ratio_ticks(min(every_ratio), max(every_ratio))
    axes.set_xlim(ticks[0], ticks[-1])
    # Plain "2x" ticks: ratios read as multiples, not as powers of ten.
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("ratio to the row's baseline (> 1: faster, < 1: slower)")
    axes.set_title(f"Each peer against the baseline ({STDLIB}; stock anyio in anyio_* and web)")
    outside_legend(axes)


def draw_scaling(axes: Axes, scaling: dict[str, list[list[float]]], colors: dict[str, str]) -> None:
    for peer, points in scaling.items():
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=peer, color=colors[peer])
    most = max(p[0] for points in scaling.values() for p in points)
    axes.set_xticks(sorted({p[0] for points in scaling.values() for p in points}))
    axes.plot([1, most], [1, most], linestyle="--", color="grey", label="linear")
    axes.set_xlabel("workers")
    axes.set_ylabel("speedup over serial")
    axes.set_title("sha256 of 1 MiB pieces")
    outside_legend(axes)


def outside_legend(axes: Axes) -> None:
    """The legend right of the panel, where it covers no bar or line."""
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
