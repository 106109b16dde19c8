"""``max_queued``: submitters wait for room (see ``stealpool/_backpressure.py``).
The stdlib has no such argument, so each test also shows stealpool did it."""

from __future__ import annotations

import _thread
import concurrent.futures
import functools
import queue
import threading
import time
from concurrent.futures.thread import BrokenThreadPool

import pytest
import stealpool

BOUND = 60.0


@pytest.fixture
def blocked_pool():
    """Makes one-worker pools whose worker is held by ``release``, so
    submitted tasks stay queued until it is set. Each is released after the
    test too: a test failing before it sets ``release`` must not leave its
    worker held, and pytest's exit waiting on it, for ``BOUND``."""
    releases = []

    def make(max_queued: int):
        pool = stealpool.ThreadPoolExecutor(max_workers=1, max_queued=max_queued)
        release = threading.Event()
        releases.append(release)
        started = threading.Event()

        def hold():
            started.set()
            release.wait(BOUND)

        pool.submit(hold)
        assert started.wait(BOUND)
        return pool, release

    yield make
    for release in releases:
        release.set()


def wait_for_waiting_submitters(pool, count):
    deadline = threading.Event()
    for _ in range(int(BOUND / 0.01)):
        if pool.stats()["waiting_submitters"] == count:
            return
        deadline.wait(0.01)
    raise AssertionError(pool.stats())


@pytest.mark.parametrize(
    "bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)]
)
def test_rejects_bad_max_queued(bad, error):
    with pytest.raises(error, match="^max_queued must be None or"):
        stealpool.ThreadPoolExecutor(max_queued=bad)


def test_queue_full_is_a_queue_full():
    assert issubclass(stealpool.QueueFull, queue.Full)


def test_submit_nowait_raises_queue_full_when_full_and_nothing_is_lost(blocked_pool):
    pool, release = blocked_pool(max_queued=2)
    queued = [pool.submit(pow, 2, i) for i in range(2)]
    with pytest.raises(stealpool.QueueFull):
        pool.submit_nowait(pow, 2, 9)
    with pytest.raises(stealpool.QueueFull):
        pool.submit_within(0.05, pow, 2, 9)
    release.set()
    assert [f.result(BOUND) for f in queued] == [1, 2]
    assert pool.submit_nowait(pow, 2, 3).result(BOUND) == 8
    pool.shutdown()
    assert pool.stats()["completed"] == 4


def test_submit_waits_for_room_then_goes_on(blocked_pool):
    pool, release = blocked_pool(max_queued=1)
    pool.submit(pow, 2, 0)
    submitted = []
    producer = threading.Thread(target=lambda: submitted.append(pool.submit(pow, 2, 5)))
    producer.start()
    wait_for_waiting_submitters(pool, 1)
    assert not submitted
    release.set()
    producer.join(BOUND)
    assert submitted[0].result(BOUND) == 32
    assert pool.stats()["waiting_submitters"] == 0
    pool.shutdown()


def test_a_cancelled_queued_task_gives_its_place_back(blocked_pool):
    pool, release = blocked_pool(max_queued=1)
    queued = pool.submit(pow, 2, 0)
    assert queued.cancel()
    refill = pool.submit_nowait(pow, 2, 4)
    release.set()
    assert refill.result(BOUND) == 16
    pool.shutdown()


def test_shutdown_wakes_waiting_submitters_with_the_stdlib_error(blocked_pool):
    pool, release = blocked_pool(max_queued=1)
    pool.submit(pow, 2, 0)
    errors = []

    def produce():
        try:
            pool.submit(pow, 2, 1)
        except RuntimeError as error:
            errors.append(str(error))

    producers = [threading.Thread(target=produce) for _ in range(3)]
    for producer in producers:
        producer.start()
    wait_for_waiting_submitters(pool, 3)
    pool.shutdown(wait=False)
    for producer in producers:
        producer.join(BOUND)
    assert errors == ["cannot schedule new futures after shutdown"] * 3
    release.set()
    pool.shutdown()


def test_submit_from_a_worker_of_the_same_pool_is_let_through_when_full():
    with stealpool.ThreadPoolExecutor(max_workers=1, max_queued=1) as pool:

        def parent():
            children = [pool.submit(pow, 3, i) for i in range(5)]
            return [child.result() for child in children]

        assert pool.submit(parent).result(BOUND) == [3**i for i in range(5)]
        assert pool.stats()["waiting_submitters"] == 0


def test_a_producer_far_ahead_of_the_pool_loses_nothing():
    results = []
    with stealpool.ThreadPoolExecutor(max_workers=2, max_queued=8) as pool:
        futures = []
        for i in range(2000):
            futures.append(pool.submit(pow, 2, i % 16))
            # A task leaves its place only once a worker took it off the queue.
            assert pool.stats()["queued"] <= 8
        results = [f.result(BOUND) for f in concurrent.futures.as_completed(futures, BOUND)]
    assert sorted(results) == sorted(2 ** (i % 16) for i in range(2000))


def test_a_pool_broken_while_a_submitter_waits_wakes_it_with_broken_thread_pool():
    # The first worker holds the pool; the second one's initializer breaks it,
    # failing the queued task: its place comes back and the waiter sees why.
    release = threading.Event()
    fail = threading.Event()
    started = threading.Event()
    spawned = []

    def initializer():
        spawned.append(None)
        if len(spawned) == 2:
            fail.wait(BOUND)
            raise ValueError("second worker fails")

    def hold():
        started.set()
        release.wait(BOUND)

    pool = stealpool.ThreadPoolExecutor(max_workers=2, initializer=initializer, max_queued=1)
    pool.submit(hold)
    assert started.wait(BOUND)
    queued = pool.submit(pow, 2, 1)
    errors = []

    def produce():
        try:
            pool.submit(pow, 2, 2)
        except BrokenThreadPool as error:
            errors.append(error)

    producer = threading.Thread(target=produce)
    producer.start()
    wait_for_waiting_submitters(pool, 1)
    fail.set()
    producer.join(BOUND)
    assert not producer.is_alive()
    assert len(errors) == 1
    assert isinstance(queued.exception(BOUND), BrokenThreadPool)
    assert pool.stats()["waiting_submitters"] == 0
    release.set()
    pool.shutdown()


def test_shutdown_with_cancel_futures_gives_every_place_back(blocked_pool):
    pool, release = blocked_pool(max_queued=3)
    queued = [pool.submit(pow, 2, i) for i in range(3)]
    with pytest.raises(stealpool.QueueFull):
        pool.submit_nowait(pow, 2, 9)
    pool.shutdown(wait=False, cancel_futures=True)
    assert all(future.cancelled() for future in queued)
    assert pool._room.places.queued == 0
    release.set()
    pool.shutdown()


def test_ctrl_c_while_submit_waits_for_room_leaks_no_place(blocked_pool):
    pool, release = blocked_pool(max_queued=1)
    queued = pool.submit(pow, 2, 0)

    def interrupt_then_make_room():
        wait_for_waiting_submitters(pool, 1)
        # The place comes free with the KeyboardInterrupt already pending: the
        # waiting submit takes it, and the interrupt lands right after.
        _thread.interrupt_main()
        release.set()

    helper = threading.Thread(target=interrupt_then_make_room)
    helper.start()
    with pytest.raises(KeyboardInterrupt):
        pool.submit(pow, 2, 1)
        time.sleep(BOUND)
    helper.join(BOUND)
    assert queued.result(BOUND) == 1
    pool.shutdown()
    # Whether the interrupted submit queued its task or not, every place is back.
    assert pool._room.places.queued == 0


@pytest.mark.parametrize("wait_for_room", [False, True], ids=["submit_nowait", "submit_within"])
def test_a_cancelled_futures_callbacks_find_its_place_free(blocked_pool, wait_for_room):
    pool, release = blocked_pool(max_queued=1)
    queued = pool.submit(pow, 2, 0)
    resubmitted = []
    # submit_within, not submit: a place freed only after the callbacks would
    # deadlock submit inside cancel() until the held worker let go.
    submit = functools.partial(pool.submit_within, BOUND) if wait_for_room else pool.submit_nowait
    queued.add_done_callback(lambda _: resubmitted.append(submit(pow, 2, 4)))
    assert queued.cancel()
    release.set()
    assert resubmitted and resubmitted[0].result(BOUND) == 16
    pool.shutdown()
    assert pool._room.places.queued == 0
