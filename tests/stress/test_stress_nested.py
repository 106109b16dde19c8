"""Nested submissions: tasks that submit tasks from inside workers.

Work submitted from a worker goes on that worker's own deque. A parent that
then waits on a child that has not started runs it itself (inline); the
others are stolen by other workers. A parent that returns without waiting
leaves them to be found by anyone. Either way every task runs exactly once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import stealpool

TREE_DEPTH = 3
TREE_FANOUT = 4


def tree_size(depth: int, fanout: int) -> int:
    return sum(fanout**level for level in range(depth + 1))


def test_parents_wait_on_children_submitted_from_workers(sizes, tally, threads, bounded):
    """Fork-join trees from several threads; blocked parents never exceed the workers."""
    timeout = sizes.wait
    roots = 3
    # Blocked parents at once: roots * (1 + fanout + fanout**2 ...) below the leaves.
    blocked_at_most = roots * tree_size(TREE_DEPTH - 1, TREE_FANOUT)
    pool = stealpool.ThreadPoolExecutor(max_workers=blocked_at_most + 4, idle_timeout=None)
    executed: list[str] = []

    def node(path: str, depth: int) -> int:
        executed.append(path)
        if depth == 0:
            return 1
        children = [pool.submit(node, f"{path}.{c}", depth - 1) for c in range(TREE_FANOUT)]
        return 1 + sum(child.result(timeout=timeout) for child in children)

    before = pool.stats()
    total = 0
    for round_ in range(sizes.nested_rounds):
        executed.clear()
        results: list[int] = []

        def root(r: int) -> None:
            results.append(pool.submit(node, f"r{r}", TREE_DEPTH).result(timeout=timeout))

        for r in range(roots):
            threads.start(root, r, name=f"root-{r}")
        threads.join(timeout * 2)
        threads.threads.clear()
        assert results == [tree_size(TREE_DEPTH, TREE_FANOUT)] * roots
        assert len(executed) == len(set(executed)) == roots * tree_size(TREE_DEPTH, TREE_FANOUT)
        total += len(executed)
    tally.tasks(total)

    # Every child of a waiting parent sat on the parent's own deque while the
    # parent waited: it can only have run by being stolen or run inline.
    waited_children = sizes.nested_rounds * roots * (tree_size(TREE_DEPTH, TREE_FANOUT) - 1)
    bounded.shutdown(pool, timeout=timeout)
    stats = pool.stats()
    assert stats["completed"] - before["completed"] == total, stats
    assert stats["stolen"] + stats["ran_inline"] >= waited_children, stats
    assert stats["queued"] == 0 and stats["running"] == 0, stats


def test_fire_and_forget_trees(sizes, tally, wait_until, bounded):
    """Tasks submit children and return at once; the whole tree still runs."""
    timeout = sizes.wait
    target = sizes.nested_fanout_tasks
    pool = stealpool.ThreadPoolExecutor(max_workers=4)
    executed: list[int] = []
    futures: list[concurrent.futures.Future] = []
    ids = iter(range(1, 10**9))
    lock = threading.Lock()

    def spawn(n: int) -> None:
        """Submits up to n more tasks (while ids remain under the target)."""
        for _ in range(n):
            with lock:
                i = next(ids)
                if i > target:
                    return
                futures.append(pool.submit(task, i))

    def task(i: int) -> int:
        executed.append(i)
        spawn(3 if i % 2 else 1)
        return i

    spawn(1)
    wait_until(lambda: len(executed) >= target, timeout, f"the tree never grew to {target} tasks")
    with lock:
        every = list(futures)
    _, not_done = concurrent.futures.wait(every, timeout=timeout)
    assert not not_done
    assert sorted(executed) == list(range(1, target + 1))
    assert [future.result(timeout=0) for future in every] == sorted(f.result(timeout=0) for f in every)
    bounded.shutdown(pool, timeout=timeout)
    assert pool.stats()["completed"] == target
    tally.tasks(target)


def test_nested_across_submit_map_and_asyncio(sizes, tally, loops, bounded):
    """A ``pool.run`` call fans out with ``map`` and ``submit`` from its worker and waits."""
    timeout = sizes.wait
    pool = stealpool.ThreadPoolExecutor(max_workers=12)
    fanout = 50

    def inner(i: int) -> int:
        return i * i

    def outer(k: int) -> int:
        squares = list(pool.map(inner, range(k, k + fanout), timeout=timeout))
        extra = pool.submit(inner, k).result(timeout=timeout)
        return sum(squares) + extra

    def expected(k: int) -> int:
        return sum(i * i for i in range(k, k + fanout)) + k * k

    async def main() -> None:
        stealpool.install(max_workers=4)
        for _ in range(sizes.nested_rounds):
            # At most 8 outers block at once: 4 on the loop's pool, 8 on `pool`.
            results = await asyncio.gather(
                *(pool.run(outer, k) for k in range(8)),
                *(asyncio.to_thread(outer, k) for k in range(4)),
            )
            assert list(results) == [expected(k) for k in range(8)] + [expected(k) for k in range(4)]

    _, loop = loops.run("asyncio", main, timeout)
    assert loop.errors == []
    bounded.shutdown(pool, timeout=timeout)
    tally.tasks(sizes.nested_rounds * 12 * (fanout + 2))
