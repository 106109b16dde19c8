"""``python -m stealpool_bench``: parse arguments, run workloads, print the report."""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
from collections.abc import Sequence
from typing import Any, Callable

from .async_workloads import run_anyio_burst, run_anyio_roundtrip, run_burst, run_floor, run_roundtrip
from .backpressure import run_backpressure
from .context import DEFAULT, FULL, QUICK, BenchContext, BenchHang, Progress, Sizes
from .fresh_loop import run_fresh_roundtrip
from .hashing import run_grain, run_sha256
from .memory import run_memory
from .nested_fib import run_nested_fib
from .plot import PlotUnavailable, draw, require_matplotlib
from .pool_workloads import run_gil_stall, run_map, run_sleep_fanout, run_submit
from .report import build_report, describe_machine, render_json, render_table
from .results import Row
from .web import run_web
from .web_db import run_web_db

WARMUP_ROUNDS = 1

# Workloads by their --only name, in the order a full run reports them.
Workload = Callable[[BenchContext], list[Row]]

WORKLOADS: dict[str, Workload] = {
    "roundtrip": run_roundtrip,
    "fresh_roundtrip": run_fresh_roundtrip,
    "burst": run_burst,
    "anyio_roundtrip": run_anyio_roundtrip,
    "anyio_burst": run_anyio_burst,
    "submit": run_submit,
    "map": run_map,
    "sha256": run_sha256,
    "grain": run_grain,
    "sleep_fanout": run_sleep_fanout,
    "gil_stall": run_gil_stall,
    "memory": run_memory,
    "floor": run_floor,
    "web": run_web,
    "web_db": run_web_db,
    "nested_fib": run_nested_fib,
    "backpressure": run_backpressure,
}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _connection_counts(text: str) -> tuple[int, ...]:
    counts = tuple(dict.fromkeys(_positive_int(part) for part in text.split(",") if part.strip()))
    if not counts:
        raise argparse.ArgumentTypeError("names no concurrency")
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stealpool_bench",
        description="Benchmark stealpool against the stdlib and other thread offloaders, "
        "alternating them round by round in one process.",
    )
    parser.add_argument("--rounds", type=_positive_int, help="measured rounds per workload (default 5; 2 with --quick)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="a smoke run of about a minute (mostly web rows); numbers mean little"
    )
    size.add_argument("--full", action="store_true", help="the full workload sizes (several minutes)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME[,NAME]",
        help="run only these workloads: " + ", ".join(WORKLOADS),
    )
    parser.add_argument(
        "--busy",
        action="store_true",
        help="measure the web rows (web, web_db) again while one busy-loop process per core runs",
    )
    parser.add_argument(
        "--connections",
        type=_connection_counts,
        metavar="N[,N]",
        help="measure web_db only at these concurrencies, in cells as long as --only web_db's "
        "(default: 64; 16, 64 and 256 with --full or --only web_db)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON instead of the table (shape: stealpool_bench.report)"
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help="the full table: every peer's column and each row's note (about 250 columns)",
    )
    parser.add_argument(
        "--plot", metavar="FILE.png", help="also draw ratios and sha256 scaling into FILE.png (needs matplotlib)"
    )
    return parser


def selected_workloads(only: Sequence[str] | None) -> list[str]:
    """The --only names in the order given, duplicates dropped; every workload if none."""
    if not only:
        return list(WORKLOADS)
    names: list[str] = []
    for chunk in only:
        for name in chunk.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in WORKLOADS:
                raise ValueError("unknown workload {!r}; choose from {}".format(name, ", ".join(WORKLOADS)))
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError("--only names no workload; choose from {}".format(", ".join(WORKLOADS)))
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.workloads = selected_workloads(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    args.sizes = QUICK if args.quick else FULL if args.full else DEFAULT
    if args.rounds is None:
        args.rounds = args.sizes.rounds
    return args


def run_workloads(
    names: Sequence[str],
    sizes: Sizes,
    rounds: int,
    progress: Progress,
    busy: bool = False,
    focused: Sequence[str] = (),
    connections: Sequence[int] = (),
) -> dict[str, Any]:
    # Described before running: the date is the start, and the load is other processes', not ours.
    machine = describe_machine()
    ctx = BenchContext(
        sizes=sizes,
        rounds=rounds,
        warmup=WARMUP_ROUNDS,
        progress=progress,
        busy=busy,
        focused=frozenset(focused),
        connections=tuple(connections),
    )
    rows = []
    for name in names:
        rows.extend(WORKLOADS[name](ctx))
    settings = {
        "size": sizes.name,
        "rounds": rounds,
        "warmup_rounds": WARMUP_ROUNDS,
        "workloads": list(names),
        "busy": busy,
        "connections": list(connections),
    }
    return build_report(rows, machine, settings, ctx.notes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.plot:
        try:
            require_matplotlib()
        except PlotUnavailable as exc:
            print(f"stealpool_bench: {exc}", file=sys.stderr)
            return 2
    progress = Progress()
    try:
        focused = args.workloads if args.only else ()
        report = run_workloads(
            args.workloads, args.sizes, args.rounds, progress, args.busy, focused, args.connections or ()
        )
    except BenchHang as exc:
        # A stuck pool keeps its threads: show where everyone is, then leave without joining them.
        print(f"stealpool_bench: HANG: {exc}", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(3)
    print(render_json(report) if args.json else render_table(report, wide=args.wide))
    if args.plot:
        draw(report, args.plot)
        progress.note(f"plot written to {os.path.abspath(args.plot)}")
    progress.note(f"finished in {progress.elapsed():.1f}s")
    return 0
