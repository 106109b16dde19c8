"""The web_db bench's app and cluster, for correctness only: no timing is asserted.

One throwaway PostgreSQL cluster; the FastAPI app served stock and with
install() in turn, a few hundred requests each over 127.0.0.1, every answer
checked against TechEmpower's rules and against the database; then the
cluster must be gone, processes and files. Skipped only where PostgreSQL's
server programs are not installed.
"""

from __future__ import annotations

import concurrent.futures
import html
import http.client
import json
import os
import re
import sys

import pytest
from stealpool_bench import techempower
from stealpool_bench.postgres import PostgresUnavailable, find_bindir, restore_tables, throwaway_cluster
from stealpool_bench.server_process import serving

try:
    find_bindir()
except PostgresUnavailable as missing:
    pytestmark = pytest.mark.skip(reason=str(missing))

SERVER = "stealpool_bench.web_db_server"
CLIENT_THREADS = 8
FORTUNE_ROW = re.compile(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>")


def get(port: int, path: str) -> tuple[str, bytes]:
    """The Content-Type and body of a 200 response to GET ``path``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body[:500])
        return response.getheader("content-type", ""), body
    finally:
        connection.close()


def get_json(port: int, path: str) -> object:
    content_type, body = get(port, path)
    assert content_type.startswith("application/json"), (path, content_type)
    return json.loads(body)


def check_world(world: object) -> tuple[int, int]:
    assert isinstance(world, dict) and set(world) == {"id", "randomNumber"}, world
    assert 1 <= world["id"] <= techempower.WORLD_ROWS
    assert 1 <= world["randomNumber"] <= techempower.WORLD_ROWS
    return world["id"], world["randomNumber"]


def check_worlds(worlds: object, count: int) -> list[tuple[int, int]]:
    assert isinstance(worlds, list) and len(worlds) == count, worlds
    return [check_world(world) for world in worlds]


def check_fortunes(port: int, path: str) -> None:
    content_type, body = get(port, path)
    assert content_type.startswith("text/html")
    page = body.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</table></body></html>")
    rows = [(int(id_), html.unescape(message)) for id_, message in FORTUNE_ROW.findall(page)]
    assert sorted(rows) == sorted([*techempower.FORTUNES, techempower.EXTRA_FORTUNE])
    assert [message for _, message in rows] == sorted(message for _, message in rows)
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;This should not" in page


def check_updates_persist(port: int, path: str, conninfo: str, count: int) -> None:
    import psycopg  # only where PostgreSQL is installed: the suite also runs where neither is

    worlds = check_worlds(get_json(port, path), count)
    assert len({id_ for id_, _ in worlds}) == count  # no row updated twice in one request
    with psycopg.connect(conninfo) as connection:
        for id_, number in worlds:
            assert connection.execute("SELECT randomnumber FROM world WHERE id = %s", (id_,)).fetchone() == (number,)


def exercise(port: int, conninfo: str, prefix: str) -> int:
    """A few hundred requests to one set of endpoints, concurrent where they do not race; returns how many."""
    reads = [f"{prefix}/db"] * 60 + [f"{prefix}/queries?queries=20"] * 20 + [f"{prefix}/updates?queries=5"] * 20
    with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as clients:
        answers = list(clients.map(lambda path: (path, get_json(port, path)), reads))
        fortunes = list(clients.map(lambda _: check_fortunes(port, f"{prefix}/fortunes"), range(20)))
    for path, answer in answers:
        if path.endswith("/db"):
            check_world(answer)
        else:
            check_worlds(answer, int(path.rsplit("=", 1)[1]))
    for raw, count in (("abc", 1), ("0", 1), ("501", techempower.MAX_QUERIES)):
        check_worlds(get_json(port, f"{prefix}/queries?queries={raw}"), count)
    for _ in range(10):  # one at a time: a concurrent update could rewrite a row before it is read back
        check_updates_persist(port, f"{prefix}/updates?queries=20", conninfo, 20)
    return len(answers) + len(fortunes) + 3 + 10


def postgres_processes_of(directory: str) -> list[int]:
    """Every process whose command line names the cluster's directory."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                if directory.encode() in cmdline.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="looks for leftover processes in /proc")
def test_app_answers_right_through_stock_and_installed_and_the_cluster_leaves_nothing() -> None:
    with throwaway_cluster() as cluster:
        assert postgres_processes_of(cluster.directory), "no PostgreSQL running for the cluster"
        for mode in ("stock", "install"):
            with serving(SERVER, mode, cluster.conninfo) as port:
                def_requests = exercise(port, cluster.conninfo, "")
                exercise(port, cluster.conninfo, "/async")
                served = get_json(port, "/served-by")
            assert isinstance(served, dict)
            if mode == "install":
                # stealpool's shared pool names its workers asyncio_N, and ran every def endpoint.
                assert re.fullmatch(r"asyncio_\d+", served["thread"]), served
                assert served["stats"]["completed"] >= def_requests, served
            else:
                assert served["thread"].startswith("AnyIO worker thread"), served
                assert served["stats"] is None
    assert not os.path.exists(cluster.directory)
    assert postgres_processes_of(cluster.directory) == []


def test_restore_tables_leaves_no_dead_rows_for_the_next_server() -> None:
    import psycopg

    def world_bytes(connection: psycopg.Connection) -> int:
        size = connection.execute("SELECT pg_total_relation_size('world')").fetchone()
        assert size is not None
        return int(size[0])

    with throwaway_cluster() as cluster, psycopg.connect(cluster.conninfo, autocommit=True) as connection:
        # No vacuum may start on its own timer in the middle of some server's cells.
        assert connection.execute("SHOW autovacuum").fetchone() == ("off",)
        loaded = world_bytes(connection)
        for _ in range(3):  # what the updates cells do: every row rewritten, the old versions left dead
            connection.execute("UPDATE world SET randomnumber = randomnumber % 10000 + 1")
        assert world_bytes(connection) > 2 * loaded
        restore_tables(cluster.conninfo)
        assert world_bytes(connection) <= loaded
        assert connection.execute("SELECT count(*) FROM world").fetchone() == (techempower.WORLD_ROWS,)
