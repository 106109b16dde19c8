"""The database rows' server: FastAPI on uvicorn, TechEmpower's tests on psycopg 3.

    python -m stealpool_bench.web_db_server PORT stock|install CONNINFO

Plain ``def`` endpoints on a ``psycopg_pool.ConnectionPool`` (FastAPI runs
them through ``anyio.to_thread.run_sync``): ``/db`` (one random World row),
``/queries?queries=N``, ``/fortunes`` and ``/updates?queries=N``; their
``async def`` twins under ``/async`` on an ``AsyncConnectionPool``, which
never leave the loop. With ``install`` the lifespan calls
``stealpool.install()``, as the README tells FastAPI apps to. ``/served-by``
is for the test: the name of the thread that ran a ``def`` endpoint, and
the stealpool pool's stats where it is installed. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
from collections.abc import AsyncIterator

import stealpool
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from . import techempower
from .in_flight import InFlight

# As many connections as anyio's default limiter runs def endpoints at once,
# so the stock side is never held back by the pool rather than by its threads.
POOL_SIZE = 40
SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = %s"
UPDATE_WORLD = "UPDATE world SET randomnumber = %s WHERE id = %s"
SELECT_FORTUNES = "SELECT id, message FROM fortune"


def _random_id() -> int:
    return random.randint(1, techempower.WORLD_ROWS)


def _ids_to_update(request: Request) -> list[int]:
    """Distinct and in order, so concurrent updates lock rows in one order and never deadlock."""
    count = techempower.query_count(request.query_params.get("queries"))
    return sorted(random.sample(range(1, techempower.WORLD_ROWS + 1), count))


def _world(row: tuple[int, int] | None) -> dict[str, int]:
    if row is None:
        raise LookupError("a World id the table does not have")
    return {"id": row[0], "randomNumber": row[1]}


def add_def_endpoints(app: FastAPI, pool: ConnectionPool) -> None:
    @app.get("/db")
    def single_query() -> JSONResponse:
        with pool.connection() as connection:
            return JSONResponse(_world(connection.execute(SELECT_WORLD, (_random_id(),)).fetchone()))

    @app.get("/queries")
    def multiple_queries(request: Request) -> JSONResponse:
        count = techempower.query_count(request.query_params.get("queries"))
        with pool.connection() as connection:
            return JSONResponse(
                [_world(connection.execute(SELECT_WORLD, (_random_id(),)).fetchone()) for _ in range(count)]
            )

    @app.get("/fortunes")
    def fortunes() -> HTMLResponse:
        with pool.connection() as connection:
            stored = connection.execute(SELECT_FORTUNES).fetchall()
        return HTMLResponse(techempower.fortunes_page(stored))

    @app.get("/updates")
    def updates(request: Request) -> JSONResponse:
        worlds = []
        with pool.connection() as connection:
            for id_ in _ids_to_update(request):
                world = _world(connection.execute(SELECT_WORLD, (id_,)).fetchone())
                world["randomNumber"] = _random_id()
                worlds.append(world)
            with connection.cursor() as cursor:
                cursor.executemany(UPDATE_WORLD, [(world["randomNumber"], world["id"]) for world in worlds])
        return JSONResponse(worlds)

    @app.get("/served-by")
    def served_by() -> JSONResponse:
        installed = getattr(app.state, "installed", False)
        return JSONResponse(
            {"thread": threading.current_thread().name, "stats": stealpool.shared_pool().stats() if installed else None}
        )


def add_async_endpoints(app: FastAPI, pool: AsyncConnectionPool) -> None:
    @app.get("/async/db")
    async def single_query() -> JSONResponse:
        async with pool.connection() as connection:
            cursor = await connection.execute(SELECT_WORLD, (_random_id(),))
            return JSONResponse(_world(await cursor.fetchone()))

    @app.get("/async/queries")
    async def multiple_queries(request: Request) -> JSONResponse:
        count = techempower.query_count(request.query_params.get("queries"))
        worlds = []
        async with pool.connection() as connection:
            for _ in range(count):
                cursor = await connection.execute(SELECT_WORLD, (_random_id(),))
                worlds.append(_world(await cursor.fetchone()))
        return JSONResponse(worlds)

    @app.get("/async/fortunes")
    async def fortunes() -> HTMLResponse:
        async with pool.connection() as connection:
            cursor = await connection.execute(SELECT_FORTUNES)
            stored = await cursor.fetchall()
        return HTMLResponse(techempower.fortunes_page(stored))

    @app.get("/async/updates")
    async def updates(request: Request) -> JSONResponse:
        worlds = []
        async with pool.connection() as connection:
            for id_ in _ids_to_update(request):
                cursor = await connection.execute(SELECT_WORLD, (id_,))
                world = _world(await cursor.fetchone())
                world["randomNumber"] = _random_id()
                worlds.append(world)
            async with connection.cursor() as update:
                await update.executemany(UPDATE_WORLD, [(world["randomNumber"], world["id"]) for world in worlds])
        return JSONResponse(worlds)


def build_app(install: bool, conninfo: str) -> FastAPI:
    pool = ConnectionPool(conninfo, min_size=POOL_SIZE, max_size=POOL_SIZE, open=False)
    async_pool = AsyncConnectionPool(conninfo, min_size=POOL_SIZE, max_size=POOL_SIZE, open=False)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if install:
            stealpool.install()
        app.state.installed = install
        # Every connection open before the first request, so no cell measures connecting.
        pool.open(wait=True)
        await async_pool.open(wait=True)
        try:
            yield
        finally:
            await async_pool.close()
            pool.close()

    app = FastAPI(lifespan=lifespan)
    add_def_endpoints(app, pool)
    add_async_endpoints(app, async_pool)
    return app


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[1] not in ("stock", "install"):
        raise SystemExit("usage: python -m stealpool_bench.web_db_server PORT stock|install CONNINFO")
    port, mode, conninfo = int(argv[0]), argv[1], argv[2]
    app = build_app(mode == "install", conninfo)
    uvicorn.run(InFlight(app), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(sys.argv[1:])
