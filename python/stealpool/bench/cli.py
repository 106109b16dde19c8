"""``python -m stealpool.bench``: parse arguments, run workloads, print the report."""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

from .context import BenchContext, BenchHang
from .machine import describe_machine
from .plot import PlotUnavailable, draw, require_matplotlib
from .progress import Progress
from .registry import WORKLOADS
from .report import build_report, render_json, render_table
from .sizes import DEFAULT, FULL, QUICK, Sizes

WARMUP_ROUNDS = 1


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got {}".format(value))
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stealpool.bench",
        description="Benchmark stealpool against the stdlib and other thread offloaders, "
        "alternating them round by round in one process.",
    )
    parser.add_argument("--rounds", type=_positive_int, help="measured rounds per workload (default 5; 2 with --quick)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a tiny smoke run of a few seconds; numbers mean little")
    size.add_argument("--full", action="store_true", help="the full workload sizes (several minutes)")
    parser.add_argument(
        "--only", action="append", metavar="NAME[,NAME]",
        help="run only these workloads: " + ", ".join(WORKLOADS),
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table (shape: stealpool.bench.report)")
    parser.add_argument("--plot", metavar="FILE.png", help="also draw ratios and sha256 scaling into FILE.png (needs matplotlib)")
    return parser


def selected_workloads(only: Optional[Sequence[str]]) -> List[str]:
    """The --only names in the order given, duplicates dropped; every workload if none."""
    if not only:
        return list(WORKLOADS)
    names: List[str] = []
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


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
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


def run_workloads(names: Sequence[str], sizes: Sizes, rounds: int, progress: Progress) -> Dict[str, Any]:
    # Described before running: the date is the start, and the load is other processes', not ours.
    machine = describe_machine()
    ctx = BenchContext(sizes=sizes, rounds=rounds, warmup=WARMUP_ROUNDS, progress=progress)
    rows = []
    for name in names:
        rows.extend(WORKLOADS[name](ctx))
    settings = {"size": sizes.name, "rounds": rounds, "warmup_rounds": WARMUP_ROUNDS, "workloads": list(names)}
    return build_report(rows, machine, settings, ctx.notes)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.plot:
        try:
            require_matplotlib()
        except PlotUnavailable as exc:
            print("stealpool.bench: {}".format(exc), file=sys.stderr)
            return 2
    progress = Progress()
    try:
        report = run_workloads(args.workloads, args.sizes, args.rounds, progress)
    except BenchHang as exc:
        # A stuck pool keeps its threads: show where everyone is, then leave without joining them.
        print("stealpool.bench: HANG: {}".format(exc), file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        sys.stderr.flush()
        os._exit(3)
    print(render_json(report) if args.json else render_table(report))
    if args.plot:
        draw(report, args.plot)
        progress.note("plot written to {}".format(args.plot))
    progress.note("finished in {:.1f}s".format(progress.elapsed()))
    return 0
