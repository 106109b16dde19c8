"""The event loops the tests run on: the stock asyncio loop, and uvloop where installed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

try:
    import uvloop
except ImportError:  # uvloop is a test dependency; absent only on platforms it lacks
    uvloop = None

LOOPS = ["asyncio", pytest.param("uvloop", marks=pytest.mark.skipif(uvloop is None, reason="uvloop not installed"))]
INSTALLED_LOOPS = ["asyncio"] + (["uvloop"] if uvloop is not None else [])


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    return uvloop.new_event_loop() if kind == "uvloop" else asyncio.new_event_loop()


def recording_loop(kind: str, debug: bool = False) -> asyncio.AbstractEventLoop:
    """A loop of ``kind`` whose exception handler records into ``loop.errors``."""
    loop = new_event_loop(kind)
    loop.set_debug(debug)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    loop.errors = errors  # type: ignore[attr-defined]
    return loop
