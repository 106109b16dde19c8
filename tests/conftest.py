"""Shared by every test directory: loops of each kind and asyncio.run on
them (held weakly, so a test can see a loop freed), and the marker for tests
that call native test helpers.

The helpers (``_core.panic_for_tests``) exist only in builds with the
``test-helpers`` cargo feature, which scripts/test turns on. The wheel test
(scripts/test-wheel) runs this suite against a release wheel, which lacks
them, and says so with ``STEALPOOL_RELEASE_WHEEL=1``: only then are the
``needs_test_helpers`` tests skipped. Anywhere else a missing helper fails.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import weakref

import pytest
from loop_kinds import LOOPS, new_event_loop, recording_loop


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_test_helpers: calls native functions only test builds have")
    # A shell without job control starts background commands with SIGINT
    # ignored; Python then installs no KeyboardInterrupt handler, and the
    # processes the tests start inherit the ignoring. Every Ctrl-C test
    # would fail however the code behaves: Ctrl-C is made to work as it
    # does in a terminal, here and (reset to the default at exec) in them.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("STEALPOOL_RELEASE_WHEEL") != "1":
        return
    skip = pytest.mark.skip(reason="release wheel: built without the test-helpers cargo feature")
    for item in items:
        if "needs_test_helpers" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def no_forked_child_outlives_its_test():
    """Kills what a test forked through multiprocessing (a process pool
    included) and left running, failed or not: pytest's exit would
    otherwise wait on it, for ever if it hung. Snippets run by
    ``python_subprocess.run_python`` take their forked children down with
    their own process group."""
    yield
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return
    for child in multiprocessing.active_children():
        child.kill()
        child.join()


@pytest.fixture(params=LOOPS)
def loop_kind(request):
    """ "asyncio" (the stock loop) or "uvloop"."""
    return request.param


@pytest.fixture
def new_loop(loop_kind):
    """Makes loops of the parametrized kind; each records what its exception handler saw.

    Loops still open at the end are closed; the fixture holds them weakly, so
    a test can check that a loop is freed.
    """
    made = weakref.WeakSet()

    def make(debug=False):
        loop = recording_loop(loop_kind, debug)
        made.add(loop)
        return loop

    yield make
    for loop in list(made):
        if not loop.is_closed():
            loop.close()


@pytest.fixture
def run(new_loop):
    """Runs a coroutine function like asyncio.run does, on the parametrized loop kind."""

    def run_main(main, debug=False):
        loop = new_loop(debug)
        try:
            result = loop.run_until_complete(main())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
        assert loop.errors == []
        return result

    return run_main


@pytest.fixture
def anyio_run(loop_kind):
    """``anyio.run(main)`` (asyncio backend) on the parametrized loop kind."""
    import anyio

    factory = functools.partial(new_event_loop, loop_kind)

    def run_main(main):
        return anyio.run(main, backend="asyncio", backend_options={"loop_factory": factory})

    return run_main


@pytest.fixture(scope="module")
def stealpool_serves_anyio():
    """anyio's worker-thread method replaced, as the first install() after
    anyio's import does (tests may run before any install())."""
    from anyio._backends._asyncio import AsyncIOBackend
    from stealpool import _anyio

    _anyio.activate()
    assert AsyncIOBackend.run_sync_in_worker_thread.__func__.__module__ == "stealpool._anyio"
