"""The report: the machine it was made on, a plain-text table for people, JSON for programs.

JSON shape (``--json``; ``schema`` changes when this shape does)::

    {
      "schema": "stealpool.bench/1",
      "machine": {"python": "3.11.7", "implementation": "CPython",
                  "date": "2026-05-09T12:00:00+00:00", "platform": "Linux-...",
                  "machine": "x86_64", "cpu_model": "..." | null, "cpu_count": 2,
                  "load_average_1min": 0.4 | null,
                  "versions": {"stealpool": "0.1.0", "uvloop": "0.23.0" | null, ...}},
      "settings": {"size": "quick" | "default" | "full", "rounds": 5,
                   "warmup_rounds": 1, "workloads": ["burst", ...], "busy": false,
                   "connections": []},
      "ratio_convention": "ratio > 1 means ...",
      "peers": {"stealpool": "what it runs", "stdlib": "...", ...},
      "notes": ["hypertile not importable (...): skipped", ...],
      "rows": [
        {"workload": "burst",            # the --only name
         "variant": "uvloop",            # loop, worker count, piece size ... or ""
         "label": "burst [uvloop]",
         "unit": "us/call",
         "better": "lower" | "higher",
         "baseline": "stdlib" | null,    # null: no stdlib in this row (floor)
         "medians": {"stealpool": 14.6, "stdlib": 48.3, ...},
         "ratios": {"stealpool": 3.31, "anyio": 0.49, ...},  # to baseline, > 1 better; null if unknown
         "references": ["process limit"],  # yardsticks in medians, never ranked
         "samples": {"stealpool": [...], ...},  # every measured round, in order
         "params": {"calls": 2000, ...},   # the workload's sizes and derived figures
         "note": "..."}
      ]
    }
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import textwrap
from collections.abc import Collection, Sequence
from typing import Any

from .results import STDLIB, STEALPOOL, Row

# Named when the harness was stealpool.bench; the shape has not changed since, so
# reports from before and after the move compare (scripts/bench --against).
SCHEMA = "stealpool.bench/1"

RATIO_CONVENTION = (
    "ratio = stealpool's median against the baseline's: above 1 means stealpool is faster "
    "(memory rows: uses less), below 1 slower. The baseline is the stdlib, or stock anyio in the "
    "anyio_*, web and web_db rows, where stealpool is the same anyio call after install()."
)
WIDE_CONVENTION = "A peer's '(N.NNx)' is that peer's ratio to the row's baseline."

PEER_DESCRIPTIONS = {
    STEALPOOL: "async rows: loop.run_in_executor(None, f) (fresh_roundtrip: asyncio.to_thread(f)) "
    "after stealpool.install(); sync rows: stealpool.ThreadPoolExecutor",
    STDLIB: "async rows: loop.run_in_executor(None, f) (fresh_roundtrip: asyncio.to_thread(f)) "
    "on a plain loop; sync rows: concurrent.futures.ThreadPoolExecutor",
    "pool.run": "pool.run(f) on the executor stealpool.install() returned",
    "to_thread+install": "asyncio.to_thread(f) after stealpool.install(); compare with asyncio.to_thread",
    "asyncio.to_thread": "asyncio.to_thread(f) on a plain loop",
    "anyio": "anyio.to_thread.run_sync(f) on a plain loop",
    "hypertile": "hypertile.to_thread(f) on a plain loop",
    "stdlib+semaphore": "backpressure: the stdlib's pool, bounded by a semaphore around submit",
    "stealpool unbounded": "backpressure: stealpool.ThreadPoolExecutor without max_queued",
    "serial": "reference: the same hashing in the calling thread",
    "process limit": "reference: the same hashing split over N processes at once",
    "loop alone": "reference: futures resolved by the loop itself, no threads",
    "one wake-up": "reference: each call answered by a process spinning on another core once the "
    "loop sleeps: one sleep and wake-up of the loop per call, nothing else",
    "two wake-ups": "reference: each call answered, once the loop sleeps, by a process blocked on a "
    "pipe between calls: a parked worker's wake-up and then the loop's, nothing else",
    "anyio inline": "reference: anyio.to_thread.run_sync's loop-side steps (checkpoint, limiter, "
    "shielded cancel scope, context copy) with f run on the loop, no thread",
    "anyio resumed": "reference: anyio inline, its result handed back through a future the loop "
    "resolves: the caller suspended and resumed once, as by any offload, no thread",
    "async def": "reference: the web_db endpoints' async def twins on psycopg's async pool, no threads",
}

# Columns after workload/unit/stealpool/stdlib/ratio; unknown peers follow in row order.
OTHER_COLUMN_ORDER = [
    "pool.run",
    "to_thread+install",
    "asyncio.to_thread",
    "anyio",
    "hypertile",
    "serial",
    "process limit",
    "loop alone",
    "one wake-up",
    "two wake-ups",
    "anyio inline",
    "anyio resumed",
    "async def",
]
RATIO_HEADER = "ratio(>1=faster)"
MISSING = "-"
# The default table fits a terminal this wide; --wide shows every peer and note.
NARROW_WIDTH = 100
# The yardsticks the default table keeps, each where some row has it: what N
# cores can do at all, and what a database endpoint costs without threads.
NARROW_REFERENCES = ("process limit", "async def")


def _version_of(distribution: str) -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:
        return None
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _load_average() -> float | None:
    # A busy machine skews every number; the reader should know it was busy.
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def describe_machine() -> dict[str, object]:
    import stealpool

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": _load_average(),
        "versions": {
            "stealpool": stealpool.__version__,
            "uvloop": _version_of("uvloop"),
            "anyio": _version_of("anyio"),
            "hypertile": _version_of("hypertile"),
        },
    }


def build_report(
    rows: Sequence[Row], machine: dict[str, Any], settings: dict[str, Any], notes: Sequence[str]
) -> dict[str, Any]:
    """The JSON-shaped report that both renderings and the plot read."""
    peers_seen = {name for row in rows for name in row.medians}
    return {
        "schema": SCHEMA,
        "machine": machine,
        "settings": settings,
        "ratio_convention": RATIO_CONVENTION,
        "peers": {name: text for name, text in PEER_DESCRIPTIONS.items() if name in peers_seen},
        "notes": list(notes),
        "rows": [row.to_dict() for row in rows],
    }


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False)


def format_value(value: float | None) -> str:
    """Three significant figures without exponents: cells line up and read at a glance."""
    if value is None or value != value:
        return MISSING
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_ratio(ratio: float | None) -> str:
    return MISSING if ratio is None else f"{ratio:.2f}x"


def other_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen: list[str] = []
    for row in rows:
        for name in row["medians"]:
            if name not in (STEALPOOL, STDLIB) and name not in seen:
                seen.append(name)
    known = [name for name in OTHER_COLUMN_ORDER if name in seen]
    return known + [name for name in seen if name not in OTHER_COLUMN_ORDER]


def _other_cell(row: dict[str, Any], name: str) -> str:
    if name not in row["medians"]:
        return MISSING
    value = format_value(row["medians"][name])
    if name in row["ratios"]:
        return "{} ({})".format(value, format_ratio(row["ratios"][name]))
    return value


def table_cells(report: dict[str, Any]) -> list[list[str]]:
    """Header row then one row of cells per report row."""
    rows = report["rows"]
    others = other_columns(rows)
    # "(lower)"/"(higher)" after a unit says which way its raw numbers should move.
    cells = [["workload", "unit (better)", STEALPOOL, STDLIB, RATIO_HEADER] + others + ["note"]]
    for row in rows:
        medians = row["medians"]
        cells.append(
            [row["label"], "{} ({})".format(row["unit"], row["better"])]
            + [
                format_value(medians.get(STEALPOOL)),
                format_value(medians.get(STDLIB)),
                format_ratio(row["ratios"].get(STEALPOOL)),
            ]
            + [_other_cell(row, name) for name in others]
            + [row.get("note", "")]
        )
    return cells


def compared_with(row: dict[str, Any]) -> str | None:
    """What the default table puts stealpool next to: the baseline, else the first reference."""
    if row["baseline"] is not None and row["baseline"] in row["medians"]:
        return str(row["baseline"])
    return next((name for name in row["references"] if name in row["medians"]), None)


def narrow_cells(report: dict[str, Any]) -> list[list[str]]:
    """The default table: stealpool, what its ratio is against, and the NARROW_REFERENCES measured."""
    rows = report["rows"]
    references = [name for name in NARROW_REFERENCES if any(name in row["medians"] for row in rows)]
    cells = [["workload", "unit (better)", STEALPOOL, "against", "median", "ratio", *references]]
    for row in rows:
        medians = row["medians"]
        against = compared_with(row)
        line = [
            row["label"],
            "{} ({})".format(row["unit"], row["better"]),
            format_value(medians.get(STEALPOOL)),
            against or MISSING,
            format_value(None if against is None else medians[against]),
            format_ratio(row["ratios"].get(STEALPOOL)),
        ]
        line += [format_value(medians.get(name)) for name in references]
        cells.append(line)
    return cells


def header_lines(report: dict[str, Any], described: Collection[str] | None = None) -> list[str]:
    """Machine, versions, settings, the ratio convention, the peers (those in ``described``, if given), notes."""
    machine = report["machine"]
    settings = report["settings"]
    versions = machine.get("versions", {})
    lines = [
        "stealpool_bench: stealpool {} on {} {}, {}".format(
            versions.get("stealpool"), machine["implementation"], machine["python"], machine["date"]
        ),
        "machine: {} ({}), {} CPUs{}{}".format(
            machine["platform"],
            machine["machine"],
            machine["cpu_count"],
            ", " + machine["cpu_model"] if machine.get("cpu_model") else "",
            ""
            if machine.get("load_average_1min") is None
            else ", load average {} at start".format(machine["load_average_1min"]),
        ),
        "peers: "
        + ", ".join(f"{name} {version}" for name, version in versions.items() if version and name != "stealpool"),
        "size {}: {} measured rounds after {} warm-up, peers alternated within each round; cells are medians".format(
            settings["size"], settings["rounds"], settings["warmup_rounds"]
        ),
        report["ratio_convention"],
    ]
    lines += [
        f"  {name:<20} {text}" for name, text in report["peers"].items() if described is None or name in described
    ]
    lines += ["note: " + note for note in report["notes"]]
    return lines


def render_table(report: dict[str, Any], wide: bool = False) -> str:
    """The header and the table: every peer and note with ``wide``, else NARROW_WIDTH columns."""
    cells = table_cells(report) if wide else narrow_cells(report)
    # The label, unit, names and note read left to right.
    left_aligned = {0, 1, len(cells[0]) - 1} if wide else {0, 1, 3}
    if wide:
        header = header_lines(report)
        header.insert(header.index(report["ratio_convention"]) + 1, WIDE_CONVENTION)
    else:
        header = header_lines(report, described={cell for row in cells for cell in row} | {STDLIB})
        header.append("--wide adds the other peers' columns and each row's note.")
        header = [
            wrapped
            for line in header
            for wrapped in textwrap.wrap(line, NARROW_WIDTH, subsequent_indent=" " * 4, break_on_hyphens=False)
        ]
    return "\n".join(header + [""] + aligned_lines(cells, left_aligned))


def aligned_lines(cells: Sequence[Sequence[str]], left_aligned: Collection[int]) -> list[str]:
    """The header row, a rule, then the rows; numbers right-aligned so digits line up."""
    widths = [max(len(row[column]) for row in cells) for column in range(len(cells[0]))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if index in left_aligned else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths))
        ]
        return "  ".join(parts).rstrip()

    return [line(cells[0]), "  ".join("-" * width for width in widths)] + [line(row) for row in cells[1:]]
