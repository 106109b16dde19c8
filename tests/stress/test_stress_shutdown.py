"""Shutdown races: ``shutdown(wait=..., cancel_futures=...)`` while other threads
and the pool's own workers keep submitting.

Whatever the interleaving: every future a successful ``submit`` returned ends
done (with its own result) or cancelled (only when ``cancel_futures=True``),
never pending; once a submitter has been refused it is refused for good, and
every refusal is ``RuntimeError('cannot schedule new futures after
shutdown')``. With ``wait=True`` every accepted future is already done when
``shutdown`` returns, as with the stdlib.
"""

from __future__ import annotations

import concurrent.futures
import random
import threading
import time
from typing import Any

import pytest
import stealpool

REFUSED = "cannot schedule new futures after shutdown"
SUBMITTERS = 4


def leaf(i: int) -> int:
    return -i


def unsettled(futures: list[concurrent.futures.Future], timeout: float) -> list[concurrent.futures.Future]:
    """The futures still neither finished nor cancelled after ``timeout``.

    Not ``concurrent.futures.wait``: like the stdlib's, ``shutdown(cancel_futures=True)``
    leaves its futures CANCELLED without notifying waiters, and ``wait()``
    does not count those as done. ``Future.exception(timeout)`` returns
    (or raises CancelledError) for both.
    """
    deadline = time.monotonic() + timeout
    for index, future in enumerate(futures):
        try:
            future.exception(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.CancelledError:
            pass
        except concurrent.futures.TimeoutError:
            return [f for f in futures[index:] if not f.done()]
    return []


@pytest.mark.parametrize("cancel_futures", [False, True], ids=["keep-queue", "cancel-queue"])
@pytest.mark.parametrize("wait", [True, False], ids=["wait", "nowait"])
def test_shutdown_races_with_submissions(sizes, tally, threads, bounded, wait, cancel_futures):
    timeout = sizes.wait
    for round_ in range(sizes.shutdown_rounds):
        rng = random.Random(round_ * 4 + wait * 2 + cancel_futures)
        pool = stealpool.ThreadPoolExecutor(max_workers=rng.choice((1, 2, 4)), thread_name_prefix="race")
        accepted: list[tuple[Any, concurrent.futures.Future]] = []  # (expected result, future)
        refusals: list[str] = []
        accepted_after_refusal: list[Any] = []
        lock = threading.Lock()
        go = threading.Event()
        submitted = threading.Semaphore(0)

        def parent(i: int, children: int) -> int:
            """Runs on a worker: submits children without waiting for them."""
            for c in range(children):
                child_id = i * 1000 + c
                try:
                    child = pool.submit(leaf, child_id)
                except RuntimeError as error:
                    with lock:
                        refusals.append(str(error))
                    break
                with lock:
                    accepted.append((-child_id, child))
            if i % 5 == 0:
                time.sleep(0.0005)  # some parents are still running at shutdown
            return i

        def submitter(k: int) -> None:
            assert go.wait(timeout)
            refused = False
            for n in range(k, 10**9, SUBMITTERS):
                try:
                    if n % 3 == 0:
                        future = pool.submit(parent, n, rng.randint(0, 3))
                        result: Any = n
                    else:
                        future = pool.submit(leaf, n)
                        result = -n
                except RuntimeError as error:
                    with lock:
                        refusals.append(str(error))
                    if refused:
                        return
                    refused = True  # try once more: it must be refused again
                    continue
                with lock:
                    accepted.append((result, future))
                    if refused:
                        accepted_after_refusal.append(n)
                submitted.release()
                if refused:
                    return

        for k in range(SUBMITTERS):
            threads.start(submitter, k, name=f"submitter-{k}")
        go.set()
        # Shut down once some work went in: at a random point of the burst.
        for _ in range(rng.randint(1, 300)):
            assert submitted.acquire(timeout=timeout)
        bounded.shutdown(pool, wait=wait, cancel_futures=cancel_futures, timeout=timeout)
        if wait:
            # Snapshot right after shutdown(wait=True) returned, before any
            # more waiting: all accepted work has run or was cancelled.
            with lock:
                snapshot = list(accepted)
            not_done = [future for _, future in snapshot if not future.done()]
            assert not_done == [], f"round {round_}: {len(not_done)} futures pending after shutdown(wait=True)"
        with pytest.raises(RuntimeError, match=f"^{REFUSED}$"):
            pool.submit(leaf, 0)
        threads.join(timeout)

        with lock:
            every = list(accepted)
        not_done = unsettled([future for _, future in every], timeout)
        assert not not_done, f"round {round_}: {len(not_done)} of {len(every)} futures never finished"
        assert accepted_after_refusal == [], f"accepted after a refusal: {accepted_after_refusal}"
        assert refusals and set(refusals) == {REFUSED}, set(refusals)
        cancelled = 0
        for result, future in every:
            if future.cancelled():
                cancelled += 1
                assert cancel_futures, "cancelled without cancel_futures"
            else:
                assert future.result(timeout=0) == result
        tally.tasks(len(every))

        bounded.shutdown(pool, wait=True, timeout=timeout)
        stats = pool.stats()
        assert stats["queued"] == 0 and stats["running"] == 0 and stats["workers"] == 0, stats
        assert stats["completed"] >= len(every) - cancelled, stats


def test_shutdown_from_inside_a_worker_while_others_submit(sizes, tally, threads, bounded):
    """A task calls ``shutdown`` (wait=True must not wait for itself) while submissions race."""
    timeout = sizes.wait
    for round_ in range(sizes.shutdown_rounds):
        pool = stealpool.ThreadPoolExecutor(max_workers=3)
        accepted: list[concurrent.futures.Future] = []
        refusals: list[str] = []
        go = threading.Event()

        def submitter() -> None:
            assert go.wait(timeout)
            while True:
                try:
                    accepted.append(pool.submit(leaf, 1))
                except RuntimeError as error:
                    refusals.append(str(error))
                    return

        for k in range(2):
            threads.start(submitter, name=f"submitter-{k}")
        go.set()
        closer = pool.submit(pool.shutdown, round_ % 2 == 0, cancel_futures=round_ % 3 == 0)
        assert closer.result(timeout=timeout) is None
        threads.join(timeout)
        assert unsettled(accepted, timeout) == []
        assert all(future.cancelled() or future.result(timeout=0) == -1 for future in accepted)
        assert set(refusals) == {REFUSED}
        bounded.shutdown(pool, timeout=timeout)
        assert pool.stats()["workers"] == 0
        tally.tasks(len(accepted) + 1)


def test_concurrent_shutdowns_of_every_kind(sizes, tally, threads, bounded):
    """Several threads call every shutdown variant at once on a busy pool."""
    timeout = sizes.wait
    for round_ in range(sizes.shutdown_rounds):
        pool = stealpool.ThreadPoolExecutor(max_workers=2)
        futures = [pool.submit(time.sleep, 0.0002) for _ in range(200)]
        go = threading.Event()
        returned: dict[str, bool] = {}

        def close(wait: bool, cancel: bool) -> None:
            assert go.wait(timeout)
            pool.shutdown(wait=wait, cancel_futures=cancel)
            returned[f"{wait}-{cancel}"] = True

        for wait in (True, False):
            for cancel in (True, False):
                threads.start(close, wait, cancel, name=f"close-{wait}-{cancel}")
        go.set()
        threads.join(timeout)
        assert len(returned) == 4
        assert unsettled(futures, timeout) == []
        assert all(future.cancelled() or future.result(timeout=0) is None for future in futures)
        bounded.shutdown(pool, timeout=timeout)
        stats = pool.stats()
        assert stats["queued"] == 0 and stats["running"] == 0 and stats["workers"] == 0, stats
        tally.tasks(len(futures))
