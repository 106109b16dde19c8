"""Shared by every test directory: tests that call native test helpers.

The helpers (``_core.panic_for_tests``) exist only in builds with the
``test-helpers`` cargo feature, which scripts/test turns on. The wheel test
(scripts/test-wheel) runs this suite against a release wheel, which lacks
them, and says so with ``STEALPOOL_RELEASE_WHEEL=1``: only then are the
``needs_test_helpers`` tests skipped. Anywhere else a missing helper fails.
"""

import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_test_helpers: calls native functions only test builds have")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("STEALPOOL_RELEASE_WHEEL") != "1":
        return
    skip = pytest.mark.skip(reason="release wheel: built without the test-helpers cargo feature")
    for item in items:
        if "needs_test_helpers" in item.keywords:
            item.add_marker(skip)
