"""Every future that ``submit`` returns reaches a final state, whatever
interleaving of submission with shutdown, retirement and initializer failure.

Each test races one of those paths against submitting threads with the
interpreter's switch interval at 1 µs, so threads are preempted between
almost any two bytecodes, and counts the futures left unresolved: it must be
0. The long suite (``STEALPOOL_STRESS=long``) runs ``race_tasks`` tasks per
path, and a quarter of that on the two paths repeated with ``max_queued``:
1.4M in all.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from concurrent.futures.thread import BrokenThreadPool
from typing import Callable

import pytest
import stealpool


@pytest.fixture
def quiet_initializer_failures():
    # Each broken pool logs "Exception in initializer:" at CRITICAL.
    logger = logging.getLogger("concurrent.futures")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def noop() -> None:
    return None


def submit_until_refused(
    pool: stealpool.ThreadPoolExecutor, limit: int, accepted: list[concurrent.futures.Future]
) -> None:
    for _ in range(limit):
        try:
            accepted.append(pool.submit(noop))
        except (RuntimeError, BrokenThreadPool):
            return


def race(
    sizes,
    tally,
    make_pool: Callable[[], stealpool.ThreadPoolExecutor],
    per_round: int,
    during: Callable[[stealpool.ThreadPoolExecutor], None],
    share: float = 1.0,
) -> list[concurrent.futures.Future]:
    """Rounds of two submitting threads racing ``during(pool)`` on the main
    thread, until ``share`` of ``race_tasks`` futures were accepted; returns them all."""
    accepted: list[concurrent.futures.Future] = []
    while len(accepted) < sizes.race_tasks * share:
        pool = make_pool()
        assert isinstance(pool, stealpool.ThreadPoolExecutor)
        batches: list[list[concurrent.futures.Future]] = [[], []]
        submitters = [threading.Thread(target=submit_until_refused, args=(pool, per_round, batch)) for batch in batches]
        for submitter in submitters:
            submitter.start()
        during(pool)
        for submitter in submitters:
            submitter.join(sizes.wait)
            assert not submitter.is_alive(), "a submitter hung"
        pool.shutdown(wait=False)
        for batch in batches:
            accepted.extend(batch)
    tally.tasks(len(accepted))
    return accepted


def unresolved(futures: list[concurrent.futures.Future], timeout: float) -> int:
    _, not_done = concurrent.futures.wait(futures, timeout=timeout)
    return len(not_done)


# With max_queued=8 the submitters mostly wait for room, so the race also
# covers waiters woken by a broken or shut down pool; a quarter of the tasks
# suffices there, the rounds being slower.
MAX_QUEUED_SHARES = [(None, 1.0), (8, 0.25)]


@pytest.mark.parametrize("max_queued, share", MAX_QUEUED_SHARES)
def test_initializer_failure_racing_submit(
    sizes, tally, preempt_everywhere, quiet_initializer_failures, max_queued, share
):
    def failing_initializer() -> None:
        raise ValueError("initializer fails")

    accepted = race(
        sizes,
        tally,
        lambda: stealpool.ThreadPoolExecutor(max_workers=2, initializer=failing_initializer, max_queued=max_queued),
        per_round=40,
        during=lambda pool: time.sleep(0),
        share=share,
    )
    assert unresolved(accepted, sizes.wait) == 0
    outcomes = {type(future.exception()) for future in accepted}
    assert outcomes <= {BrokenThreadPool, type(None)}


@pytest.mark.parametrize("max_queued, share", MAX_QUEUED_SHARES)
def test_shutdown_racing_submit(sizes, tally, preempt_everywhere, max_queued, share):
    def shut_down_with_wait(pool: stealpool.ThreadPoolExecutor) -> None:
        time.sleep(0)
        pool.shutdown(wait=True)

    accepted = race(
        sizes,
        tally,
        lambda: stealpool.ThreadPoolExecutor(max_workers=2, max_queued=max_queued),
        per_round=200,
        during=shut_down_with_wait,
        share=share,
    )
    # shutdown(wait=True) returns once every task it accepted has run, and
    # it returned before these futures were collected: each must be done
    # already, not merely soon.
    assert sum(not future.done() for future in accepted) == 0
    assert all(future.exception() is None for future in accepted)


def test_retirement_racing_submit(sizes, tally, preempt_everywhere):
    def pause_so_workers_retire(pool: stealpool.ThreadPoolExecutor) -> None:
        for _ in range(3):
            time.sleep(0.0002)

    accepted = race(
        sizes,
        tally,
        lambda: stealpool.ThreadPoolExecutor(max_workers=2, idle_timeout=0),
        per_round=400,
        during=pause_so_workers_retire,
    )
    assert unresolved(accepted, sizes.wait) == 0
    assert all(future.exception() is None for future in accepted)


def test_shutdown_right_after_a_submit_from_the_same_thread(sizes, tally, preempt_everywhere):
    # The shape of a `with pool:` block: the only worker has just finished a
    # task and is searching when the last submit and the shutdown arrive.
    stranded = 0
    rounds = sizes.race_tasks // 2
    for _ in range(rounds):
        pool = stealpool.ThreadPoolExecutor(max_workers=1)
        pool.submit(noop).result(timeout=sizes.wait)
        last = pool.submit(noop)
        pool.shutdown(wait=True)
        stranded += not last.done()
        if not last.done():
            last.cancel()
    tally.tasks(2 * rounds)
    assert stranded == 0
