"""The completion bridge and the garbage collector.

A loop closed while a completion is queued on its bridge discards the drain:
the loop holds the bridge, the bridge's queue holds the future, the future
holds the loop. That cycle runs through a native object, so the collector
must be able to see it (and break it) like any other.
"""

from __future__ import annotations

import gc
import threading
import weakref

import stealpool

LOOPS_CLOSED = 5
RESULT_BYTES = 10 * 1024 * 1024


class Result:
    """A big result that can be watched with a weak reference."""

    def __init__(self) -> None:
        self.payload = bytearray(RESULT_BYTES)


def close_loop_with_a_completion_queued(new_loop, results):
    """Returns weak references to a loop closed with one completion queued on its bridge."""
    loop = new_loop()
    release = threading.Event()

    def work():
        release.wait(10)
        result = Result()
        results.append(weakref.ref(result))
        return result

    pool = stealpool.ThreadPoolExecutor(max_workers=1)

    async def start():
        return pool.run(work)

    future = loop.run_until_complete(start())
    release.set()
    # The worker has queued the completion and scheduled its drain once it is gone.
    pool.shutdown(wait=True)
    assert pool.stats()["bridged"] == 1
    assert not future.done()
    loop.close()
    return weakref.ref(loop), weakref.ref(future)


def test_loops_closed_with_a_completion_queued_are_collected(new_loop):
    results = []
    refs = [close_loop_with_a_completion_queued(new_loop, results) for _ in range(LOOPS_CLOSED)]
    gc.collect()
    assert len(results) == LOOPS_CLOSED
    assert [loop_ref() for loop_ref, _ in refs] == [None] * LOOPS_CLOSED
    assert [future_ref() for _, future_ref in refs] == [None] * LOOPS_CLOSED
    assert [result_ref() for result_ref in results] == [None] * LOOPS_CLOSED
