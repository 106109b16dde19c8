"""The ``web_db`` rows: TechEmpower's database tests on a throwaway PostgreSQL, stock anyio against install().

A cluster of its own (``postgres.throwaway_cluster``) serves FastAPI on
uvicorn with psycopg 3 (``web_db_server``). Every server starts from the
same compact ``World`` table (``postgres.restore_tables``), whatever the
server before it updated. Per round, a server with
``install()`` in its lifespan runs the ``def`` endpoints and a stock one
runs them and their ``async def`` twins (which goes first alternates round
by round, ``results.alternation_schedule``), the ``async def`` column: a
reference, never ranked, of what the same queries cost without any thread.
The cells: ``/db``, ``/queries?queries=20``, ``/fortunes`` and
``/updates?queries=20``, at 64 connections and 1 s each in the default run;
at 16, 64 and 256 connections, 2 s each (5 s with ``--full``), when
``--full`` or ``--only web_db`` asks for them; ``--connections`` picks the
concurrencies, in cells as long as those. Where PostgreSQL cannot be
started, the report's notes say why and no row is made.
"""

from __future__ import annotations

import importlib.util

from .context import FULL, BenchContext
from .load import generator
from .postgres import PostgresUnavailable, restore_tables, throwaway_cluster
from .results import STEALPOOL, Row
from .web import (
    STOCK,
    WARMUP_S,
    Cell,
    CellResult,
    Measurement,
    cell_seconds,
    load_rows,
    measure_server,
    plan,
    quiet_then_busy,
    rounds,
)

ASYNC_REFERENCE = "async def"
ASYNC_PREFIX = "/async"
SERVER = "stealpool_bench.web_db_server"
ENDPOINTS = [
    ("db", "/db"),
    ("queries=20", "/queries?queries=20"),
    ("fortunes", "/fortunes"),
    ("updates=20", "/updates?queries=20"),
]
# Where the run is not about this workload: one concurrency, short cells.
DEFAULT_CONNECTIONS = (64,)
DEFAULT_SECONDS = 1
ALL_CONNECTIONS = (16, 64, 256)
QUICK_CONNECTIONS = (16,)
NOTE = (
    "FastAPI+psycopg 3 on PostgreSQL (TechEmpower tests), pool of {} connections; "
    "stealpool = install() in lifespan; async def = the async twins (reference); load: {}"
)
REQUIREMENTS = ("uvicorn", "fastapi", "psycopg", "psycopg_pool")


def plan_cells(ctx: BenchContext) -> tuple[list[Cell], int]:
    """The cells, and seconds per cell, that this run's size and --only ask for."""
    connections: tuple[int, ...]
    if ctx.connections:
        connections, seconds = ctx.connections, cell_seconds(ctx)
    elif ctx.sizes.name == "quick":
        connections, seconds = QUICK_CONNECTIONS, cell_seconds(ctx)
    elif ctx.sizes is FULL or "web_db" in ctx.focused:
        connections, seconds = ALL_CONNECTIONS, cell_seconds(ctx)
    else:
        connections, seconds = DEFAULT_CONNECTIONS, DEFAULT_SECONDS
    cells = [Cell(f"{name} c{count}", path, count) for count in connections for name, path in ENDPOINTS]
    return cells, seconds


def _measure(ctx: BenchContext, conninfo: str, busy: bool) -> list[Row]:
    from .web_db_server import POOL_SIZE

    cells, seconds = plan_cells(ctx)
    results: dict[str, dict[Cell, list[CellResult]]] = {STEALPOOL: {}, STOCK: {}, ASYNC_REFERENCE: {}}

    installed = plan(cells, results[STEALPOOL])
    stock = plan(cells, results[STOCK]) + plan(cells, results[ASYNC_REFERENCE], ASYNC_PREFIX)

    def from_restored_tables(mode: str, measurements: list[Measurement]) -> float:
        restore_tables(conninfo)
        return measure_server(SERVER, [mode, conninfo], measurements, seconds)

    contenders = {
        STEALPOOL: lambda: from_restored_tables("install", installed),
        STOCK: lambda: from_restored_tables("stock", stock),
    }
    ctx.alternate("web_db" + (" (busy)" if busy else ""), contenders, rounds=rounds(ctx), warmup=0, mirrored=True)
    note = NOTE.format(POOL_SIZE, generator())
    params = {"seconds": seconds, "pool_size": POOL_SIZE}
    return load_rows("web_db", cells, results, busy, references=[ASYNC_REFERENCE], params=params, note=note)


def run_web_db(ctx: BenchContext) -> list[Row]:
    missing = [name for name in REQUIREMENTS if importlib.util.find_spec(name) is None]
    if missing:
        ctx.note("web_db skipped: {} not installed".format(", ".join(missing)))
        return []
    cells, seconds = plan_cells(ctx)
    planned_s = rounds(ctx) * (3 * len(cells) * seconds + 2 * (WARMUP_S + 5))
    ctx.progress.note("web_db: starting a throwaway PostgreSQL cluster")
    try:
        with throwaway_cluster() as cluster:
            return quiet_then_busy(ctx, lambda busy: _measure(ctx, cluster.conninfo, busy), planned_s)
    except PostgresUnavailable as exc:
        ctx.note(f"web_db skipped: PostgreSQL could not be started: {exc}")
        return []
