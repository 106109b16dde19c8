"""asyncio integration: pool.run, install(), the bridge, on the stock loop and uvloop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import logging
import socket
import sys
import threading
import time
import weakref

import pytest
import stealpool


def current_thread_name():
    return threading.current_thread().name


async def thread_name_on_stealpool():
    """``asyncio.to_thread(current_thread_name)``, failing unless stealpool served it.

    The stdlib names its default executor's threads ``asyncio_N`` too, so the
    proof is that the loop's default executor is stealpool's and that the call
    crossed its bridge.
    """
    executor = stealpool._default_executor.default_executor_of(asyncio.get_running_loop())
    assert isinstance(executor, stealpool.ThreadPoolExecutor), executor
    before = executor.stats()["bridged"]
    name = await asyncio.to_thread(current_thread_name)
    assert executor.stats()["bridged"] - before == 1
    return name


def test_pool_run_returns_results_with_keyword_arguments(run):
    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=2) as pool:
            future = pool.run(lambda a, *, b: a * b, 6, b=7)
            assert isinstance(future, asyncio.Future)
            return await future

    assert run(main) == 42


def test_pool_run_exceptions_keep_their_traceback(run):
    def fails():
        raise LookupError("missing")

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
            with pytest.raises(LookupError, match="missing") as caught:
                await pool.run(fails)
            names = []
            traceback = caught.value.__traceback__
            while traceback is not None:
                names.append(traceback.tb_frame.f_code.co_name)
                traceback = traceback.tb_next
            assert "fails" in names

    run(main)


def test_pool_run_reports_stop_iteration_instead_of_hanging(run):
    def raises_stop_iteration():
        raise StopIteration

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
            with pytest.raises((RuntimeError, TypeError)):
                await asyncio.wait_for(pool.run(raises_stop_iteration), 10)

    run(main)


def test_pool_run_propagates_context_in_and_isolates_tasks(run):
    var = contextvars.ContextVar("var", default="unset")

    def read_then_set(value):
        seen = var.get()
        var.set(value)
        return seen

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
            var.set("caller")
            first = await pool.run(read_then_set, "task 1")
            second = await pool.run(read_then_set, "task 2")
            assert var.get() == "caller"
            return first, second

    assert run(main) == ("caller", "caller")


def test_cancelled_before_start_never_runs(run):
    ran = []
    release = threading.Event()

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
            blocker = pool.run(release.wait)
            queued = asyncio.ensure_future(pool.run(ran.append, "ran"))
            await asyncio.sleep(0)
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            release.set()
            await blocker
            await pool.run(time.sleep, 0)

    run(main)
    assert ran == []


def test_cancelled_after_start_finishes_quietly(run):
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def work():
        started.set()
        release.wait(10)
        finished.set()
        return "discarded"

    async def main():
        with stealpool.ThreadPoolExecutor(max_workers=1) as pool:
            task = asyncio.ensure_future(pool.run(work))
            while not started.is_set():
                await asyncio.sleep(0.001)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            release.set()
            await pool.run(time.sleep, 0)
            await asyncio.sleep(0.01)
            assert finished.is_set()

    run(main)


def test_install_routes_to_thread_and_run_in_executor_through_the_bridge(run):
    async def main():
        executor = stealpool.install()
        assert stealpool.install() is executor
        loop = asyncio.get_running_loop()
        before = executor.stats()["bridged"]
        name = await asyncio.to_thread(current_thread_name)
        total = await loop.run_in_executor(None, sum, [1, 2, 3])
        keyword = await stealpool.to_thread(lambda *, x: x, x="kw")
        assert executor.stats()["bridged"] - before == 3
        return name, total, keyword

    name, total, keyword = run(main)
    assert name.startswith("asyncio_")
    assert (total, keyword) == (6, "kw")


def test_install_with_pool_arguments_gives_the_loop_its_own_pool(run):
    async def main():
        executor = stealpool.install(max_workers=2, thread_name_prefix="own")
        assert executor is not stealpool.shared_pool()
        return await asyncio.to_thread(current_thread_name)

    assert run(main).startswith("own_")


def test_install_shuts_down_the_default_executor_it_replaces(new_loop):
    loop = new_loop()
    if not isinstance(loop, asyncio.BaseEventLoop):
        loop.close()
        pytest.skip("uvloop keeps its default executor where Python cannot read it")
    replaced = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(replaced)

    async def main():
        assert await loop.run_in_executor(None, int, "7") == 7
        return stealpool.install()

    try:
        installed = loop.run_until_complete(main())
    finally:
        loop.close()
    assert installed is not replaced
    assert replaced._shutdown
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        replaced.submit(int)


def test_install_again_with_other_pool_arguments_refuses_instead_of_ignoring_them(run):
    async def main():
        shared = stealpool.install()
        with pytest.raises(RuntimeError, match=r"max_workers=40 \(it has \d+\)"):
            stealpool.install(max_workers=40)
        assert stealpool.install(max_workers=shared._max_workers) is shared
        with pytest.raises(TypeError, match="unexpected keyword argument 'max_wokers'"):
            stealpool.install(max_wokers=40)
        return shared

    assert run(main)._max_workers == stealpool._executor.default_max_workers()


def test_install_again_with_the_same_pool_arguments_keeps_the_loops_own_pool(run):
    async def main():
        own = stealpool.install(max_workers=3, idle_timeout=None, max_queued=5)
        assert stealpool.install(max_workers=3, idle_timeout=None, max_queued=5) is own
        assert stealpool.install() is own
        with pytest.raises(RuntimeError, match=r"idle_timeout=1.0 \(it has None\)"):
            stealpool.install(max_workers=3, idle_timeout=1.0)
        with pytest.raises(RuntimeError, match=r"max_queued=None \(it has 5\)"):
            stealpool.install(max_queued=None)
        return await asyncio.to_thread(current_thread_name)

    assert run(main).startswith("ThreadPoolExecutor-")


def constructor_error(**pool_kwargs):
    """What the stdlib's ThreadPoolExecutor raises for ``pool_kwargs``, as (type, message)."""
    try:
        concurrent.futures.ThreadPoolExecutor(**pool_kwargs).shutdown()
    except Exception as error:
        return type(error), str(error)
    raise AssertionError(f"the stdlib accepts {pool_kwargs}")


@pytest.mark.parametrize(
    "bad",
    [
        {"max_wokers": 4},
        {"max_workers": 0},
        {"max_workers": -1},
        {"max_workers": "4"},
        {"initializer": 5},
    ],
)
def test_install_again_with_bad_pool_arguments_raises_what_the_constructor_raises(run, bad):
    async def main():
        first = stealpool.install(max_workers=4)
        with pytest.raises(Exception) as second:
            stealpool.install(**bad)
        with pytest.raises(Exception) as fresh:
            stealpool.ThreadPoolExecutor(**bad)
        assert stealpool.install() is first
        return (second.type, str(second.value)), (fresh.type, str(fresh.value))

    second, fresh = run(main)
    assert second == fresh == constructor_error(**bad)


@pytest.mark.parametrize("initargs", [5, None, [1]])
def test_install_again_with_the_same_initargs_the_stdlib_accepts_keeps_the_pool(run, initargs):
    async def main():
        first = stealpool.install(initargs=initargs)
        return stealpool.install(initargs=initargs) is first

    assert run(main)


def test_getaddrinfo_runs_on_stealpool(new_loop):
    loop = new_loop()

    async def main():
        executor = stealpool.install()
        before = executor.stats()["bridged"]
        infos = await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
        return infos, executor.stats()["bridged"] - before

    try:
        infos, bridged = loop.run_until_complete(main())
    finally:
        loop.close()
    assert infos and all(info[1] == socket.SOCK_STREAM for info in infos)
    if isinstance(loop, asyncio.BaseEventLoop):
        # uvloop resolves names in libuv, not in the executor.
        assert bridged == 1


def test_debug_mode(run):
    async def main():
        executor = stealpool.install()
        loop = asyncio.get_running_loop()
        before = executor.stats()["bridged"]
        assert await loop.run_in_executor(None, pow, 2, 5) == 32
        assert executor.stats()["bridged"] - before == 1

        async def coroutine():
            return 1

        with pytest.raises(TypeError, match="coroutines cannot be used with run_in_executor"):
            loop.run_in_executor(None, coroutine)

    run(main, debug=True)


def test_sequential_asyncio_runs_each_installing(new_loop):
    names = set()
    pools = []
    for _ in range(5):
        loop = new_loop()

        async def main():
            pools.append(stealpool.install()._pool)
            names.add(await asyncio.to_thread(current_thread_name))

        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        assert loop.errors == []
    assert all(name.startswith("asyncio_") for name in names)
    # Each run was the only loop on the shared pool: it retired the pool, the next made a new one.
    assert len(set(map(id, pools))) == 5
    assert all(pool._shutdown and pool.stats()["workers"] == 0 for pool in pools)


def test_ten_loops_in_ten_threads_share_one_pool(new_loop):
    results = {}
    errors = []
    # Loops share the pool while any of them is open: here all ten are.
    all_installed = threading.Barrier(10, timeout=60)

    def loop_thread(i):
        loop = new_loop()

        async def main():
            executor = stealpool.install()
            all_installed.wait()
            values = await asyncio.gather(*(asyncio.to_thread(pow, i, j) for j in range(200)))
            return executor, values

        try:
            executor, values = loop.run_until_complete(main())
            loop.run_until_complete(loop.shutdown_default_executor())
            results[i] = (executor._core, values)
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            loop.close()

    threads = [threading.Thread(target=loop_thread, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len({id(core) for core, _ in results.values()}) == 1
    for i, (_, values) in results.items():
        assert values == [pow(i, j) for j in range(200)]


def test_loop_closed_with_work_in_flight_logs_nothing_and_leaks_nothing(new_loop, caplog):
    class Payload:
        pass

    release = threading.Event()
    pool = stealpool.ThreadPoolExecutor(max_workers=2)
    loop = new_loop()
    payloads = []

    def work():
        release.wait(10)
        payload = Payload()
        payloads.append(weakref.ref(payload))
        return payload

    async def start():
        return [pool.run(work) for _ in range(4)]

    with caplog.at_level(logging.DEBUG):
        futures = loop.run_until_complete(start())
        loop.close()
        release.set()
        pool.shutdown(wait=True)
        future_refs = [weakref.ref(f) for f in futures]
        del futures
        gc.collect()
    assert len(payloads) == 4
    assert all(ref() is None for ref in payloads)
    assert all(ref() is None for ref in future_refs)
    assert loop.errors == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_set_default_executor_and_run_in_executor_under_asyncio_run():
    # asyncio.run shuts the default executor down twice: from a helper thread
    # (shutdown_default_executor), then from loop.close().
    pool = stealpool.ThreadPoolExecutor(max_workers=2, thread_name_prefix="default")

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(pool)
        by_default = await loop.run_in_executor(None, current_thread_name)
        explicit = await loop.run_in_executor(pool, pow, 3, 3)
        return by_default, explicit

    assert asyncio.run(main()) == ("default_0", 27)
    assert pool._shutdown
    # The stdlib's pool would name its threads default_0 too.
    assert pool.stats()["completed"] == 2


def test_stealpool_run_installs_first():
    assert stealpool.run(thread_name_on_stealpool()).startswith("asyncio_")

    async def main():
        return await asyncio.to_thread(current_thread_name)

    assert stealpool.run(main(), max_workers=1, thread_name_prefix="solo") == "solo_0"
    with pytest.raises(ValueError, match="a coroutine was expected"):
        stealpool.run(main)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner is new in 3.11")
def test_loop_factory_with_runner():
    with asyncio.Runner(loop_factory=stealpool.loop_factory) as runner:
        assert runner.run(thread_name_on_stealpool()).startswith("asyncio_")


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is new in 3.12")
def test_loop_factory_with_asyncio_run():
    assert asyncio.run(thread_name_on_stealpool(), loop_factory=stealpool.loop_factory).startswith("asyncio_")


def test_to_thread_without_install_uses_the_shared_pool(run):
    async def main():
        name = await stealpool.to_thread(current_thread_name)
        view = asyncio.get_running_loop()._stealpool_to_thread_view
        return name, view._pool is stealpool.shared_pool(), view.stats()["bridged"]

    name, on_shared_pool, bridged = run(main)
    assert name.startswith("asyncio_")
    assert on_shared_pool and bridged >= 1


def test_closing_a_loop_shuts_its_to_thread_view_down(new_loop):
    loop = new_loop()
    assert loop.run_until_complete(stealpool.to_thread(int, "7")) == 7
    view = loop._stealpool_to_thread_view
    # Closed without shutdown_default_executor first: close() shuts the
    # default executor down, without waiting, and the view with it.
    loop.close()
    assert view._shutdown
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        view.submit(int)


def test_burst_of_to_thread_resolves_everything(run):
    async def main():
        executor = stealpool.install()
        before = executor.stats()["bridged"]
        results = await asyncio.gather(*(asyncio.to_thread(abs, -i) for i in range(5000)))
        return results, executor.stats()["bridged"] - before

    assert run(main) == (list(range(5000)), 5000)


def test_a_burst_of_to_thread_calls_that_wait_for_each_other_runs_them_all_at_once(run):
    # The loop submits the whole burst while holding the GIL, and the
    # first worker takes the GIL before its task: the rest of the burst
    # reaches the other workers only through the one that took a task.
    async def main():
        executor = stealpool.install(max_workers=8)
        everyone_running = threading.Barrier(8, timeout=30)
        results = await asyncio.gather(*(asyncio.to_thread(everyone_running.wait) for _ in range(8)))
        return sorted(results), executor.stats()["spawned"]

    assert run(main) == (list(range(8)), 8)


def counting_subclass_of(base):
    """``base`` with a ``submit`` override that records what it was given."""

    class Counting(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.submitted = []

        def submit(self, fn, /, *args, **kwargs):
            self.submitted.append(args)
            return super().submit(fn, *args, **kwargs)

    return Counting


@pytest.mark.parametrize("base", [concurrent.futures.ThreadPoolExecutor, stealpool.ThreadPoolExecutor])
def test_run_in_executor_calls_a_subclass_submit_override_like_the_stdlib(run, base):
    async def main():
        stealpool.install()
        loop = asyncio.get_running_loop()
        with counting_subclass_of(base)(max_workers=1) as given:
            assert await loop.run_in_executor(given, pow, 2, 3) == 8
            default = counting_subclass_of(base)(max_workers=1)
            loop.set_default_executor(default)
            assert await loop.run_in_executor(None, pow, 2, 4) == 16
            assert await asyncio.to_thread(pow, 2, 5) == 32
        return given.submitted, default.submitted

    assert run(main) == ([(2, 3)], [(2, 4), ()])
