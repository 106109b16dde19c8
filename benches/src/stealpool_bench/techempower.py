"""TechEmpower's database tests, as their rules define them: the data and the answers.

``World`` is 10,000 rows of (id, randomNumber), both 1..10000; ``Fortune``
holds the 12 standard fortunes, one of them markup that must come back
escaped. A fortunes page adds one fortune at request time, sorts by message
and renders an HTML table. ``queries`` counts are clamped to 1..500, and a
value that is not a number counts as 1.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

WORLD_ROWS = 10_000
MAX_QUERIES = 500

FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
]
EXTRA_FORTUNE = (0, "Additional fortune added at request time.")

SCHEMA = [
    "CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL)",
    "CREATE TABLE fortune (id integer PRIMARY KEY, message varchar(2048) NOT NULL)",
]
FILL_WORLD = (
    "INSERT INTO world (id, randomnumber) "
    "SELECT n, 1 + floor(random() * %(rows)s)::integer FROM generate_series(1, %(rows)s) AS n"
)
INSERT_FORTUNE = "INSERT INTO fortune (id, message) VALUES (%s, %s)"

FORTUNES_HEAD = (
    "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>"
)
FORTUNES_TAIL = "</table></body></html>"


def query_count(raw: str | None) -> int:
    try:
        count = int(raw) if raw is not None else 1
    except ValueError:
        return 1
    return min(max(count, 1), MAX_QUERIES)


def fortunes_page(stored: Iterable[tuple[int, str]]) -> str:
    rows = sorted([*stored, EXTRA_FORTUNE], key=lambda fortune: fortune[1])
    cells = "".join(f"<tr><td>{id_}</td><td>{html.escape(message)}</td></tr>" for id_, message in rows)
    return FORTUNES_HEAD + cells + FORTUNES_TAIL
