"""pytest plugin for anyio's own test suite: stealpool installed on every loop.

Loaded with ``-p stealpool_on_every_loop`` by ``scripts/test-anyio-suite``.
Every loop anyio's pytest plugin makes for the asyncio backend gets
``stealpool.install()`` right after it is created, before any test code runs
on it. The run fails unless anyio's backend carries stealpool's replacement
and stealpool resolved completions (``stats()['bridged']``): a suite that
passes with the integration inactive would prove nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
import stealpool
from anyio._backends import _asyncio as anyio_asyncio

# The pools the loops were given: the shared pool retires with the last loop
# using it, and the next install() makes a new one, so count over them all.
POOLS: dict[int, Any] = {}


def pytest_configure(config: pytest.Config) -> None:
    enter = anyio_asyncio.TestRunner.__enter__

    def enter_then_install(self: Any) -> Any:
        runner = enter(self)
        core = stealpool.install(self.get_loop())._core
        POOLS[id(core)] = core
        return runner

    anyio_asyncio.TestRunner.__enter__ = enter_then_install  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    replacement = anyio_asyncio.AsyncIOBackend.run_sync_in_worker_thread.__func__  # type: ignore[attr-defined]
    bridged = sum(core.stats()["bridged"] for core in POOLS.values())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    served = replacement.__module__ == "stealpool._anyio" and bridged > 0
    if reporter is not None:
        reporter.write_sep(
            "-", f"stealpool: anyio backend method from {replacement.__module__}, {bridged} completions bridged"
        )
    if not served and session.testscollected:
        if reporter is not None:
            reporter.write_line("stealpool served none of these calls: the run proves nothing, so it fails")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
