"""Every error path of ``run_in_executor`` after ``install()``, side by side
with the same loop kind left alone (the stdlib's executor): same exception,
same message, raised at the same moment (at the call, or by the future).
On uvloop, uvloop's own behaviour is the reference.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from concurrent.futures.thread import BrokenThreadPool

import pytest
import stealpool


async def coroutine_function():
    return 1


def fails_to_initialize():
    raise ValueError("initializer failed")


def raises(error):
    raise error


def closed_loop(loop, executor_class, cleanup):
    loop.close()
    return lambda: loop.run_in_executor(None, int)


def after_shutdown_default_executor(loop, executor_class, cleanup):
    loop.run_until_complete(loop.shutdown_default_executor())
    return lambda: loop.run_in_executor(None, int)


def coroutine_function_in_debug_mode(loop, executor_class, cleanup):
    loop.set_debug(True)
    return lambda: loop.run_in_executor(None, coroutine_function)


def coroutine_object_in_debug_mode(loop, executor_class, cleanup):
    loop.set_debug(True)
    coroutine = coroutine_function()
    cleanup.append(coroutine.close)  # awaited by nobody
    return lambda: loop.run_in_executor(None, coroutine)


def not_callable_in_debug_mode(loop, executor_class, cleanup):
    loop.set_debug(True)
    return lambda: loop.run_in_executor(None, 1)


def coroutine_function_outside_debug_mode(loop, executor_class, cleanup):
    return lambda: loop.run_in_executor(None, coroutine_function)


def not_callable(loop, executor_class, cleanup):
    return lambda: loop.run_in_executor(None, 1)


def the_function_raises(loop, executor_class, cleanup):
    return lambda: loop.run_in_executor(None, int, "not a number")


def the_function_raises_concurrent_futures_cancelled_error(loop, executor_class, cleanup):
    # asyncio's wrap_future turns concurrent.futures' own errors into asyncio's.
    return lambda: loop.run_in_executor(None, raises, concurrent.futures.CancelledError("cancelled"))


def the_function_raises_concurrent_futures_timeout_error(loop, executor_class, cleanup):
    return lambda: loop.run_in_executor(None, raises, concurrent.futures.TimeoutError("timed out"))


def the_function_raises_concurrent_futures_invalid_state_error(loop, executor_class, cleanup):
    return lambda: loop.run_in_executor(None, raises, concurrent.futures.InvalidStateError("invalid"))


def explicit_executor_shut_down(loop, executor_class, cleanup):
    pool = executor_class(max_workers=1)
    pool.shutdown()
    return lambda: loop.run_in_executor(pool, int)


def default_executor_shut_down(loop, executor_class, cleanup):
    pool = executor_class(max_workers=1)
    loop.set_default_executor(pool)
    pool.shutdown()
    return lambda: loop.run_in_executor(None, int)


def explicit_executor_broken(loop, executor_class, cleanup):
    pool = executor_class(max_workers=1, initializer=fails_to_initialize)
    with pytest.raises(BrokenThreadPool):
        pool.submit(int).result(timeout=30)
    return lambda: loop.run_in_executor(pool, int)


CASES = [
    closed_loop,
    after_shutdown_default_executor,
    coroutine_function_in_debug_mode,
    coroutine_object_in_debug_mode,
    not_callable_in_debug_mode,
    coroutine_function_outside_debug_mode,
    not_callable,
    the_function_raises,
    the_function_raises_concurrent_futures_cancelled_error,
    the_function_raises_concurrent_futures_timeout_error,
    the_function_raises_concurrent_futures_invalid_state_error,
    explicit_executor_shut_down,
    default_executor_shut_down,
    explicit_executor_broken,
]


def outcome(loop, call):
    """What the call did: raised at once, or returned a future that failed or gave a value."""
    try:
        future = call()
    except Exception as error:
        return "raised at the call", type(error), str(error)
    try:
        value = loop.run_until_complete(asyncio.wait_for(future, 30))
    except (Exception, asyncio.CancelledError) as error:
        return "the future failed", type(error), str(error), future.cancelled()
    if asyncio.iscoroutine(value):
        value.close()
        return "the future gave", "a coroutine"
    return "the future gave", value


def outcome_on(new_loop, case, executor_class, installed):
    loop = new_loop()
    if installed:
        stealpool.install(loop)
        # The call goes through install()'s run_in_executor, not the loop's own.
        assert loop.run_in_executor._stealpool_route
    cleanup = []
    try:
        return outcome(loop, case(loop, executor_class, cleanup))
    finally:
        for clean_up in cleanup:
            clean_up()
        if not loop.is_closed():
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_run_in_executor_fails_as_the_loops_own(new_loop, case):
    expected = outcome_on(new_loop, case, concurrent.futures.ThreadPoolExecutor, installed=False)
    seen = outcome_on(new_loop, case, stealpool.ThreadPoolExecutor, installed=True)
    assert seen == expected
