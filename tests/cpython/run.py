"""CPython's own executor tests, run against stealpool.

    python tests/cpython/run.py        # from a virtualenv with stealpool installed

Runs the thread-pool tests of ``test.test_concurrent_futures`` with
``stealpool.ThreadPoolExecutor`` as ``concurrent.futures.ThreadPoolExecutor``,
and the executor and ``to_thread`` tests of ``test.test_asyncio`` with
stealpool installed as every loop's default executor (see ``stdlib_patch.py``;
child processes the tests start get the same patch). Needs CPython's ``test``
package with ``test_concurrent_futures`` as a package (3.13 in pyenv's
builds); prints why and exits 0 when it is missing, so ``scripts/test`` can
call it on every version.

Each test has a time limit: one that overruns dumps every thread's stack and
ends the run with a failure instead of hanging it. The run fails too unless
the counts the patch keeps show stealpool made the executors and took the
calls, in this process and in the child processes.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import os
import re
import shutil
import site
import sys
import tempfile
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PATCH_MODULE = "_stealpool_stdlib_patch"
PER_TEST_LIMIT = 120  # seconds

# (module, which of its tests): the thread-pool half of test_concurrent_futures
# and asyncio's default-executor and to_thread tests.
SUITES: list[tuple[str, Callable[[str], bool]]] = [
    *(
        ("test.test_concurrent_futures." + name, lambda test_id: ".ThreadPool" in test_id)
        for name in (
            "test_thread_pool",
            "test_shutdown",
            "test_wait",
            "test_as_completed",
            "test_init",
            "test_deadlock",
        )
    ),
    ("test.test_concurrent_futures.test_future", lambda test_id: True),
    ("test.test_asyncio.test_threads", lambda test_id: True),
    (
        "test.test_asyncio.test_base_events",
        re.compile(r"executor|asyncgen_finalization_by_gc_in_other_thread|test_call_coroutine").search,
    ),
    ("test.test_asyncio.test_events", re.compile(r"run_in_executor").search),
    ("test.test_asyncio.test_tasks", lambda test_id: ".RunCoroutineThreadsafeTests." in test_id),
]


def main() -> int:
    if not has_module("test.test_concurrent_futures.test_thread_pool"):
        # Older Pythons have test_concurrent_futures as one module, some builds no test package.
        print(f"CPython's test.test_concurrent_futures package is not installed for {sys.executable}: skipped")
        return 0
    install_patch()
    if os.environ.get("STEALPOOL_PATCH_STDLIB") != "1":
        # Again, with the patch applied from startup, as in the children.
        log = tempfile.NamedTemporaryFile(prefix="stealpool-cpython-", suffix=".log", delete=False)
        log.close()
        os.environ.update(STEALPOOL_PATCH_STDLIB="1", STEALPOOL_PATCH_LOG=log.name)
        os.execv(sys.executable, [sys.executable, __file__, *sys.argv[1:]])
    return run_patched(Path(os.environ["STEALPOOL_PATCH_LOG"]))


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent is missing, or is not a package
        return False


def install_patch() -> None:
    """Copies the patch into this virtualenv's site-packages, with its .pth line."""
    if sys.prefix == sys.base_prefix:
        raise SystemExit("run this from a virtualenv: the patch is installed into its site-packages")
    site_packages = Path(site.getsitepackages()[0])
    shutil.copyfile(HERE / "stdlib_patch.py", site_packages / (PATCH_MODULE + ".py"))
    (site_packages / (PATCH_MODULE + ".pth")).write_text(f"import {PATCH_MODULE}\n")


def run_patched(log: Path) -> int:
    import concurrent.futures

    import stealpool

    patch = sys.modules.get(PATCH_MODULE)
    if patch is None or concurrent.futures.ThreadPoolExecutor is not stealpool.ThreadPoolExecutor:
        print("the patch did not apply at startup: nothing would test stealpool", file=sys.stderr)
        return 1
    suite = unittest.TestSuite(selected_tests())
    result = unittest.TextTestRunner(resultclass=TimeLimitedResult, verbosity=2).run(suite)
    children = [tuple(map(int, line.split())) for line in log.read_text().splitlines()]
    log.unlink()
    proof = (
        "stealpool made {executors} executors, accepted {calls} calls and was installed on {installs} loops here; "
        "{children} child processes made {child_executors} executors".format(
            **patch.counts,  # type: ignore[attr-defined]
            children=len(children),
            child_executors=sum(executors for executors, _, _ in children),
        )
    )
    print(proof)
    # Exit joins every worker: a task left blocked by a failed test must fail the run, not hang it.
    faulthandler.dump_traceback_later(PER_TEST_LIMIT, exit=True)
    counts = patch.counts  # type: ignore[attr-defined]
    proven = counts["executors"] and counts["calls"] and counts["installs"] and any(c[0] for c in children)
    if not proven:
        print("stealpool did not run these tests", file=sys.stderr)
    return 0 if result.wasSuccessful() and proven else 1


def selected_tests() -> Iterator[unittest.TestCase]:
    loader = unittest.TestLoader()
    for module, wanted in SUITES:
        for test in flatten(loader.loadTestsFromName(module)):
            test_id = test.id()
            if not wanted(test_id):
                continue
            yield test


def flatten(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from flatten(test)
        else:
            yield test


class TimeLimitedResult(unittest.TextTestResult):
    """Ends the run, with every thread's stack, when a test overruns its limit."""

    def startTest(self, test: unittest.TestCase) -> None:
        faulthandler.dump_traceback_later(PER_TEST_LIMIT, exit=True)
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    sys.exit(main())
