"""anyio.to_thread.run_sync served by stealpool on installed loops, with anyio's semantics.

Each test runs anyio (asyncio backend) on the stock loop and on uvloop. Calls
on an installed loop must run on stealpool's workers and be resolved through
its bridge (the pool's ``bridged`` count); calls on other loops must keep
anyio's own worker threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
import stealpool
from python_subprocess import run_python

pytest.importorskip("anyio")
import anyio.from_thread
import anyio.to_thread
from stealpool import _anyio

ANYIO_WORKER_NAME = "AnyIO worker thread"


pytestmark = pytest.mark.usefixtures("stealpool_serves_anyio")


@pytest.fixture
def run(anyio_run):
    return anyio_run


def thread_name():
    return threading.current_thread().name


def test_installed_loop_runs_calls_on_stealpool_through_the_bridge(run):
    async def main():
        pool = stealpool.install(max_workers=2)
        results = [await anyio.to_thread.run_sync(lambda a, b: (a * b, thread_name()), 6, 7) for _ in range(5)]
        return results, pool.stats()["bridged"]

    results, bridged = run(main)
    assert {value for value, _ in results} == {42}
    assert all(name != ANYIO_WORKER_NAME for _, name in results)
    assert bridged == 5


def test_shared_pool_serves_run_sync_with_asyncio_thread_names(run):
    async def main():
        stealpool.install()
        before = stealpool.shared_pool().stats()["bridged"]
        name = await anyio.to_thread.run_sync(thread_name)
        return name, stealpool.shared_pool().stats()["bridged"] - before

    name, bridged = run(main)
    assert name.startswith("asyncio_")
    assert bridged >= 1


def test_loop_without_install_keeps_anyios_own_threads(run):
    async def main():
        before = stealpool.shared_pool().stats()["bridged"]
        name = await anyio.to_thread.run_sync(thread_name)
        return name, stealpool.shared_pool().stats()["bridged"] - before

    name, bridged = run(main)
    assert name == ANYIO_WORKER_NAME
    assert bridged == 0


def test_after_the_executor_shuts_down_calls_take_anyios_path(run):
    async def main():
        pool = stealpool.install(max_workers=1)
        served_by = await anyio.to_thread.run_sync(thread_name)
        pool.shutdown()
        return served_by, await anyio.to_thread.run_sync(thread_name), pool.stats()["bridged"]

    served_by, then, bridged = run(main)
    assert served_by != ANYIO_WORKER_NAME
    assert then == ANYIO_WORKER_NAME
    assert bridged == 1


@pytest.mark.parametrize("pool_kwargs", [{}, {"max_workers": 1}], ids=["shared_pool", "own_pool"])
def test_calls_waiting_for_a_token_when_the_executor_shuts_down_take_anyios_path(run, pool_kwargs):
    release = threading.Event()

    def holds_the_token():
        release.wait(10)
        return thread_name()

    async def main():
        pool = stealpool.install(**pool_kwargs)
        limiter = anyio.CapacityLimiter(1)
        names = []

        async def call(func):
            names.append(await anyio.to_thread.run_sync(func, limiter=limiter))

        async with anyio.create_task_group() as group:
            group.start_soon(call, holds_the_token)
            while limiter.borrowed_tokens == 0:
                await anyio.sleep(0.001)
            for _ in range(2):
                group.start_soon(call, thread_name)
            while limiter.statistics().tasks_waiting < 2:
                await anyio.sleep(0.001)
            pool.shutdown(wait=False)
            release.set()
        return names, pool.stats()["bridged"]

    names, bridged = run(main)
    assert names[0] != ANYIO_WORKER_NAME
    assert names[1:] == [ANYIO_WORKER_NAME, ANYIO_WORKER_NAME]
    assert bridged == 1


def test_exceptions_arrive_as_raised(run):
    def fails():
        raise LookupError("missing")

    async def main():
        pool = stealpool.install(max_workers=1)
        with pytest.raises(LookupError, match="missing"):
            await anyio.to_thread.run_sync(fails)
        return pool.stats()["bridged"]

    assert run(main) == 1


def test_stop_iteration_arrives_as_anyio_delivers_it(run):
    stop = StopIteration("done")

    def stops():
        raise stop

    async def main():
        pool = stealpool.install(max_workers=1)
        with pytest.raises(RuntimeError, match="^coroutine raised StopIteration$") as raised:
            await anyio.to_thread.run_sync(stops)
        return raised.value, pool.stats()["bridged"]

    error, bridged = run(main)
    assert error.__cause__ is stop
    assert bridged == 1


def test_default_limiter_is_held_for_the_whole_call(run):
    release = threading.Event()
    started = []

    def blocks(index):
        started.append(index)
        release.wait()

    async def main():
        pool = stealpool.install(max_workers=8)
        limiter = anyio.to_thread.current_default_thread_limiter()
        assert limiter.total_tokens == 40
        limiter.total_tokens = 2
        async with anyio.create_task_group() as group:
            for index in range(5):
                group.start_soon(anyio.to_thread.run_sync, blocks, index)
            while len(started) < 2:
                await anyio.sleep(0.001)
            statistics = limiter.statistics()
            assert (statistics.borrowed_tokens, statistics.tasks_waiting) == (2, 3)
            release.set()
        assert limiter.borrowed_tokens == 0
        return pool.stats()["bridged"]

    assert run(main) == 5
    assert sorted(started) == [0, 1, 2, 3, 4]


def test_limiter_argument_replaces_the_default_one(run):
    async def main():
        pool = stealpool.install(max_workers=2)
        limiter = anyio.CapacityLimiter(1)
        default = anyio.to_thread.current_default_thread_limiter()

        def borrowed():
            return anyio.from_thread.run_sync(lambda: (limiter.borrowed_tokens, default.borrowed_tokens))

        seen = await anyio.to_thread.run_sync(borrowed, limiter=limiter)
        return seen, limiter.borrowed_tokens, pool.stats()["bridged"]

    assert run(main) == ((1, 0), 0, 1)


def default_limiter_borrowed():
    return anyio.from_thread.run_sync(lambda: anyio.to_thread.current_default_thread_limiter().borrowed_tokens)


def test_a_default_limiter_set_anew_on_the_loop_is_the_one_held(run):
    # The replacement reads the default limiter where anyio keeps it, on
    # every call: a new one set on the loop (anyio's RunVar) takes effect.
    from anyio._backends._asyncio import _default_thread_limiter

    async def main():
        pool = stealpool.install(max_workers=2)
        first = anyio.to_thread.current_default_thread_limiter()
        assert await anyio.to_thread.run_sync(default_limiter_borrowed) == 1
        replacement = anyio.CapacityLimiter(3)
        with _default_thread_limiter.set(replacement):
            seen = await anyio.to_thread.run_sync(lambda: (replacement.borrowed_tokens, first.borrowed_tokens))
        return seen, pool.stats()["bridged"]

    assert run(main) == ((1, 0), 2)


@pytest.mark.parametrize("kind", [classmethod, staticmethod])
def test_a_patched_current_default_thread_limiter_is_called(run, monkeypatch, kind):
    from anyio._backends._asyncio import AsyncIOBackend

    chosen = anyio.CapacityLimiter(1)
    patch = kind(lambda cls: chosen) if kind is classmethod else kind(lambda: chosen)

    async def main():
        pool = stealpool.install(max_workers=2)
        assert await anyio.to_thread.run_sync(default_limiter_borrowed) == 1  # the loop has its default limiter
        monkeypatch.setattr(AsyncIOBackend, "current_default_thread_limiter", patch)
        borrowed = await anyio.to_thread.run_sync(lambda: chosen.borrowed_tokens)
        return borrowed, pool.stats()["bridged"]

    assert run(main) == (1, 2)


def test_a_limiter_anyio_did_not_make_is_entered_as_anyio_enters_it(run):
    class CountingLimiter:
        """Only what anyio's own path uses: ``async with limiter``."""

        def __init__(self):
            self.tokens = anyio.CapacityLimiter(1)
            self.entered = 0

        async def __aenter__(self):
            self.entered += 1
            await self.tokens.__aenter__()

        async def __aexit__(self, *exc_info):
            return await self.tokens.__aexit__(*exc_info)

    made_outside_any_loop = anyio.CapacityLimiter(1)

    async def main():
        stealpool.install()
        limiter = CountingLimiter()
        value = await anyio.to_thread.run_sync(lambda: 5, limiter=limiter)
        served_by = await anyio.to_thread.run_sync(thread_name, limiter=made_outside_any_loop)
        return value, limiter.entered, limiter.tokens.borrowed_tokens, served_by

    value, entered, borrowed, served_by = run(main)
    assert (value, entered, borrowed) == (5, 1, 0)
    assert served_by.startswith("asyncio_")


def test_cancellation_is_shielded_by_default_and_check_cancelled_sees_it(run):
    outcome = {}

    async def main():
        pool = stealpool.install(max_workers=1)
        async with anyio.create_task_group() as group:

            def cancels_its_host():
                anyio.from_thread.run_sync(group.cancel_scope.cancel)
                try:
                    anyio.from_thread.check_cancelled()
                except asyncio.CancelledError:  # the asyncio backend's cancellation
                    outcome["check_cancelled"] = "raised"
                return "finished"

            async def host():
                outcome["result"] = await anyio.to_thread.run_sync(cancels_its_host)

            group.start_soon(host)
        return pool.stats()["bridged"]

    assert run(main) == 1
    assert outcome == {"check_cancelled": "raised", "result": "finished"}


def test_abandon_on_cancel_returns_at_once_and_drops_the_outcome(run):
    release = threading.Event()
    finished = threading.Event()

    async def main():
        loop = asyncio.get_running_loop()
        errors = []
        loop.set_exception_handler(lambda _, context: errors.append(context))
        pool = stealpool.install(max_workers=1)
        with anyio.CancelScope() as scope:

            def cancels_then_blocks():
                anyio.from_thread.run_sync(scope.cancel)
                release.wait()
                finished.set()
                raise ValueError("dropped quietly")

            await anyio.to_thread.run_sync(cancels_then_blocks, abandon_on_cancel=True)
        assert scope.cancelled_caught
        assert not finished.is_set()
        release.set()
        while pool.stats()["bridged"] == 0:
            await anyio.sleep(0.001)
        await anyio.sleep(0)
        return errors

    assert run(main) == []
    assert finished.is_set()


def test_check_cancelled_with_abandon_on_cancel_sees_the_calls_own_scope(run):
    names = []

    async def main():
        stealpool.install(max_workers=1)
        with anyio.CancelScope() as scope:

            def cancelled_from_inside():
                names.append(thread_name())
                anyio.from_thread.run_sync(scope.cancel)
                anyio.from_thread.check_cancelled()

            await anyio.to_thread.run_sync(cancelled_from_inside, abandon_on_cancel=True)
        return scope.cancelled_caught

    assert run(main) is True
    assert len(names) == 1 and names[0] != ANYIO_WORKER_NAME


def test_from_thread_reaches_the_callers_loop(run):
    async def loop_of_coroutine():
        return asyncio.get_running_loop()

    def calls_back():
        return (
            anyio.from_thread.run(loop_of_coroutine),
            anyio.from_thread.run_sync(asyncio.get_running_loop),
            thread_name(),
        )

    async def main():
        pool = stealpool.install(max_workers=1)
        seen = await anyio.to_thread.run_sync(calls_back)
        return asyncio.get_running_loop(), seen, pool.stats()["bridged"]

    loop, (async_loop, sync_loop, name), bridged = run(main)
    assert async_loop is loop and sync_loop is loop
    assert name != ANYIO_WORKER_NAME
    assert bridged == 1


def test_no_anyio_token_is_left_on_the_worker_after_a_call(run):
    def outside_anyio():
        try:
            anyio.from_thread.check_cancelled()
        except anyio.NoEventLoopError:
            return thread_name()
        return "an anyio token was left behind"

    async def main():
        executor = stealpool.install(max_workers=1)
        served_by = await anyio.to_thread.run_sync(thread_name)
        # The same worker (sequential calls reuse it), now running a call
        # that does not come from anyio.
        loop = asyncio.get_running_loop()
        return served_by, await executor._core.run(loop, outside_anyio, (), limited_by_caller=True)

    served_by, then = run(main)
    assert served_by == then != ANYIO_WORKER_NAME


def test_contextvars_are_copied_and_no_async_library_is_seen(run):
    sniffio = pytest.importorskip("sniffio")
    variable = contextvars.ContextVar("variable", default="unset")

    def in_thread():
        seen = variable.get()
        variable.set("set in thread")
        try:
            library = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = None
        return seen, library

    async def main():
        pool = stealpool.install(max_workers=1)
        variable.set("set by caller")
        seen = await anyio.to_thread.run_sync(in_thread)
        return seen, variable.get(), sniffio.current_async_library(), pool.stats()["bridged"]

    assert run(main) == (("set by caller", None), "set by caller", "asyncio", 1)


def test_loop_shutdown_waits_for_abandoned_calls(run):
    release = threading.Event()
    finished = threading.Event()

    async def main():
        stealpool.install()
        with anyio.CancelScope() as scope:

            def cancels_then_blocks():
                anyio.from_thread.run_sync(scope.cancel)
                release.wait()
                finished.set()

            await anyio.to_thread.run_sync(cancels_then_blocks, abandon_on_cancel=True)
        assert scope.cancelled_caught
        # Let the abandoned call finish only after the loop has begun to shut down.
        threading.Timer(0.05, release.set).start()

    run(main)
    assert finished.is_set()


def test_cancelled_while_the_limiter_is_saturated_never_runs(run):
    release = threading.Event()
    ran = []

    def blocks(index):
        ran.append(index)
        release.wait()

    async def main():
        pool = stealpool.install(max_workers=4)
        limiter = anyio.CapacityLimiter(1)
        async with anyio.create_task_group() as holder:
            holder.start_soon(lambda: anyio.to_thread.run_sync(blocks, 0, limiter=limiter))
            while not ran:
                await anyio.sleep(0.001)
            async with anyio.create_task_group() as waiters:
                for index in (1, 2, 3):
                    waiters.start_soon(lambda i=index: anyio.to_thread.run_sync(blocks, i, limiter=limiter))
                while limiter.statistics().tasks_waiting < 3:
                    await anyio.sleep(0.001)
                waiters.cancel_scope.cancel()
            assert limiter.statistics().tasks_waiting == 0
            release.set()
        after = await anyio.to_thread.run_sync(lambda: "served", limiter=limiter)
        return limiter.borrowed_tokens, after, pool.stats()["bridged"]

    assert run(main) == (0, "served", 2)
    assert ran == [0]


def test_ten_loops_in_ten_threads_each_have_their_own_default_limiter():
    limiters = {}
    names = {}
    errors = []
    # Loops that do not overlap may each get a fresh shared pool (the last
    # loop using one retires it): count over every pool the loops used.
    first_pool = stealpool.shared_pool()._core
    before = first_pool.stats()["bridged"]
    pools = {}

    async def main(index):
        executor = stealpool.install()
        pools[id(executor._core)] = executor._core
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 3
        seen = set()
        async with anyio.create_task_group() as group:
            for _ in range(20):

                async def one():
                    seen.add(await anyio.to_thread.run_sync(thread_name))

                group.start_soon(one)
        limiters[index] = limiter
        names[index] = seen

    def thread_main(index):
        try:
            anyio.run(main, index, backend="asyncio")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=thread_main, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(limiter) for limiter in limiters.values()}) == 10
    assert all(limiter.total_tokens == 3 and limiter.borrowed_tokens == 0 for limiter in limiters.values())
    assert all(name.startswith("asyncio_") for seen in names.values() for name in seen)
    bridged = sum(pool.stats()["bridged"] for pool in pools.values())
    assert bridged - (before if id(first_pool) in pools else 0) >= 200


@pytest.mark.parametrize(
    "version, supported",
    [
        ("4.11.0", False),
        ("4.12.1", True),
        ("4.14.0", True),
        ("4.16.0", True),
        ("4.17.0", False),
        ("4.99", False),
        ("5.0.0", False),
        ("unknown", False),
    ],
)
def test_supported_versions(version, supported):
    assert _anyio.is_supported(version) is supported


@pytest.mark.parametrize(
    "hide_anyio",
    ['sys.modules["anyio"] = None  # as if anyio were not installed', "# installed, but not imported"],
    ids=["absent", "not imported"],
)
def test_install_imports_no_anyio_and_still_works(hide_anyio):
    finished = run_python(
        f"""
        import asyncio, sys
        {hide_anyio}
        import stealpool

        async def main():
            pool = stealpool.install()
            await asyncio.to_thread(int)
            return pool.stats()["bridged"]

        assert asyncio.run(main()) == 1
        loaded = [name for name, module in sys.modules.items() if name.split(".")[0] == "anyio" and module is not None]
        assert loaded == [], loaded
        print("ok")
        """
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["ok"]


def test_install_before_anyio_is_imported_serves_it_from_the_next_install():
    finished = run_python(
        """
        import asyncio, threading
        import stealpool

        async def main():
            stealpool.install()
            import anyio.to_thread
            before = await anyio.to_thread.run_sync(lambda: threading.current_thread().name)
            stealpool.install()
            return before, await anyio.to_thread.run_sync(lambda: threading.current_thread().name)

        before, after = asyncio.run(main())
        assert before == "AnyIO worker thread", before
        assert after.startswith("asyncio_"), after
        print("ok")
        """
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["ok"]


def test_unsupported_anyio_version_warns_and_keeps_anyios_path():
    finished = run_python(
        """
        import asyncio, threading, warnings
        import anyio, anyio.to_thread
        import stealpool
        from stealpool import _anyio
        from anyio._backends._asyncio import AsyncIOBackend

        _anyio.anyio_version = lambda: "5.0.0"
        async def main():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stealpool.install()
            assert [str(w.message) for w in caught] == [
                "stealpool serves anyio.to_thread.run_sync only for anyio 4.12 to 4.16; "
                "anyio 5.0.0 keeps its own worker threads"
            ], caught
            assert caught[0].filename == "<string>", caught[0].filename
            return await anyio.to_thread.run_sync(lambda: threading.current_thread().name)

        assert anyio.run(main) == "AnyIO worker thread"
        assert AsyncIOBackend.run_sync_in_worker_thread.__func__.__module__.startswith("anyio.")
        print("ok")
        """
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["ok"]


def test_a_default_executor_whose_submit_is_overridden_sees_every_call(run):
    submitted = []

    class Counting(stealpool.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    async def main():
        stealpool.install()
        with Counting(max_workers=1) as pool:
            asyncio.get_running_loop().set_default_executor(pool)
            return await anyio.to_thread.run_sync(pow, 2, 3)

    assert run(main) == 8
    assert len(submitted) == 1
