"""The web rows: servers in child processes under wrk, stock anyio against install().

A sample starts a fresh server (``server_process.serving``), warms it up
with every path it will be asked for, then measures its cells one after
another, each once the server has finished the last one's requests
(``in_flight``): a cell is one path at one number of keep-alive connections for a
few seconds (``load.run_load``). Stock and installed servers alternate round
by round. Each cell gives rows of requests/s, p50/p99 latency and the server's
CPU per request (``in_flight.ServerWork``: its process's CPU time from the
cell's start until it has finished the cell's last request, over the
requests it finished, every thread counted); one ``errors`` row per set
adds up error responses and socket errors, per round.
With ``--busy`` the same rows are measured again while one busy loop per
core runs (``busy.busy_machine``).

The ``web`` workload itself: uvicorn + Starlette (``web_server``), a ``def``
endpoint hashing 16 KiB at 32 connections and one sleeping 5 ms at 64.
``web_db`` (``web_db.py``) uses the same machinery against PostgreSQL.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Callable

from .busy import busy_machine
from .context import BenchContext
from .in_flight import ServerWork, wait_until_idle
from .load import LoadResult, generator, run_load
from .results import HIGHER_IS_BETTER, LOWER_IS_BETTER, STEALPOOL, Row, make_row
from .server_process import serving

STOCK = "anyio"
# Server runs take seconds each, so fewer rounds than the other rows.
MAX_ROUNDS = 3
WARMUP_S = 1
# How long a server may take to finish the requests a cell left behind (in_flight.py says why it must).
DRAIN_TIMEOUT_S = 120.0
# Busy loops end by themselves this long after the measurement was planned to.
BUSY_SLACK_S = 120.0
NOTE = "uvicorn+Starlette def endpoints; stealpool = install() in lifespan; ratio against stock; load: {}"


@dataclass(frozen=True)
class Cell:
    name: str  # in the row labels: what is requested, and at what concurrency
    path: str
    connections: int


@dataclass(frozen=True)
class CellResult:
    load: LoadResult
    server_cpu_us: float  # per request the server finished, drain included


@dataclass(frozen=True)
class Measurement:
    """One cell of a server run: which path, and where its result goes."""

    cell: Cell
    path: str
    results: list[CellResult]


WORK = Cell("sha256 c32", "/work", 32)
SLEEP = Cell("sleep 5ms c64", "/sleep", 64)


def cell_seconds(ctx: BenchContext) -> int:
    return {"quick": 1, "default": 2, "full": 5}[ctx.sizes.name]


def rounds(ctx: BenchContext) -> int:
    return min(ctx.rounds, MAX_ROUNDS)


def plan(cells: Sequence[Cell], by_cell: dict[Cell, list[CellResult]], prefix: str = "") -> list[Measurement]:
    """A server run's measurements of ``cells`` (at ``prefix`` + each path), into ``by_cell``."""
    return [Measurement(cell, prefix + cell.path, by_cell.setdefault(cell, [])) for cell in cells]


def measure_server(module: str, args: Sequence[str], plan: Sequence[Measurement], seconds: int) -> float:
    """One server run: warms up every planned path, then measures each in turn into its list.

    Returns the number of cells measured: the results go to the plan's lists,
    and the return value only satisfies ``BenchContext.alternate``.
    """
    with serving(module, *args) as port:
        paths = list(dict.fromkeys(measurement.path for measurement in plan))
        run_load(port, paths, plan[0].cell.connections, WARMUP_S)
        before = wait_until_idle(port, DRAIN_TIMEOUT_S)
        for measurement in plan:
            load = run_load(port, [measurement.path], measurement.cell.connections, seconds)
            after = wait_until_idle(port, DRAIN_TIMEOUT_S)
            measurement.results.append(CellResult(load, cpu_per_request_us(before, after)))
            before = after
    return float(len(plan))


def cpu_per_request_us(before: ServerWork, after: ServerWork) -> float:
    served = after.served - before.served
    if served <= 0:
        raise RuntimeError("the server finished no request in a cell")
    return (after.cpu_s - before.cpu_s) / served * 1e6


def load_rows(
    workload: str,
    cells: Sequence[Cell],
    results: dict[str, dict[Cell, list[CellResult]]],
    busy: bool,
    references: Iterable[str] = (),
    params: Mapping[str, object] | None = None,
    note: str = "",
) -> list[Row]:
    """Per cell: req/s, p50, p99 and server CPU rows; then one errors row for them all (per round, summed)."""
    suffix = ", busy" if busy else ""
    references = list(references)
    rows = []
    metrics: list[tuple[str, str, str, Callable[[CellResult], float]]] = [
        ("req/s", "req/s", HIGHER_IS_BETTER, lambda result: result.load.requests_per_s),
        ("p50", "ms", LOWER_IS_BETTER, lambda result: result.load.p50_ms),
        ("p99", "ms", LOWER_IS_BETTER, lambda result: result.load.p99_ms),
        ("server CPU", "us/request", LOWER_IS_BETTER, lambda result: result.server_cpu_us),
    ]
    for cell in cells:
        cell_params = dict(params or {}, path=cell.path, connections=cell.connections, busy=busy)
        for metric, unit, better, read in metrics:
            samples = {peer: [read(result) for result in by_cell[cell]] for peer, by_cell in results.items()}
            rows.append(
                make_row(
                    workload,
                    f"{cell.name} {metric}{suffix}",
                    unit,
                    better,
                    samples,
                    baseline=STOCK,
                    references=references,
                    params=cell_params,
                    note=note,
                )
            )
    errors = {
        peer: [
            float(sum(result.load.errors for result in in_round))
            for in_round in zip(*(by_cell[cell] for cell in cells))
        ]
        for peer, by_cell in results.items()
    }
    per_cell = {
        peer: {cell.name: [result.load.errors for result in by_cell[cell]] for cell in cells}
        for peer, by_cell in results.items()
    }
    error_params = dict(params or {}, busy=busy, errors_per_cell=per_cell)
    rows.append(
        make_row(
            workload,
            f"errors{suffix}",
            "errors",
            LOWER_IS_BETTER,
            errors,
            baseline=STOCK,
            references=references,
            params=error_params,
            note=note + "; errors: responses not 2xx (wrk: status >= 400) and socket errors, all cells of a round",
        )
    )
    return rows


def quiet_then_busy(ctx: BenchContext, measure: Callable[[bool], list[Row]], planned_s: float) -> list[Row]:
    """The rows ``measure(busy)`` gives on a quiet machine, then with ``--busy`` on a busy one too."""
    rows = measure(False)
    if ctx.busy:
        with busy_machine(planned_s + BUSY_SLACK_S) as loops:
            ctx.note(f"rows marked 'busy': measured while {len(loops)} busy-loop processes ran, one per core")
            rows += measure(True)
            if not loops.all_spinning():
                ctx.note(f"busy loops reached their time limit before the busy {rows[0].workload} rows were done")
    return rows


def _measure_web(ctx: BenchContext, busy: bool) -> list[Row]:
    cells = [WORK, SLEEP]
    seconds = cell_seconds(ctx)
    results: dict[str, dict[Cell, list[CellResult]]] = {STEALPOOL: {}, STOCK: {}}
    installed, stock = plan(cells, results[STEALPOOL]), plan(cells, results[STOCK])
    contenders = {
        STEALPOOL: lambda: measure_server("stealpool_bench.web_server", ["install"], installed, seconds),
        STOCK: lambda: measure_server("stealpool_bench.web_server", ["stock"], stock, seconds),
    }
    ctx.alternate("web" + (" (busy)" if busy else ""), contenders, rounds=rounds(ctx), warmup=0, mirrored=True)
    return load_rows("web", cells, results, busy, params={"seconds": seconds}, note=NOTE.format(generator()))


def run_web(ctx: BenchContext) -> list[Row]:
    missing = [name for name in ("uvicorn", "starlette") if importlib.util.find_spec(name) is None]
    if missing:
        ctx.note("{} not installed: web rows skipped".format(", ".join(missing)))
        return []
    planned_s = rounds(ctx) * 2 * (WARMUP_S + 2 * cell_seconds(ctx) + 5)
    return quiet_then_busy(ctx, lambda busy: _measure_web(ctx, busy), planned_s)
