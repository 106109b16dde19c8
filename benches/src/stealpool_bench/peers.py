"""Who stealpool is measured against, and how each one sends a call to a thread.

Async rows (one loop per peer):
  stealpool            ``loop.run_in_executor(None, f)`` after ``stealpool.install()``
  stdlib               ``loop.run_in_executor(None, f)`` on a plain loop
  pool.run             ``pool.run(f)`` on the executor ``stealpool.install()`` returned
  to_thread+install    ``asyncio.to_thread(f)`` after ``stealpool.install()``
  asyncio.to_thread    ``asyncio.to_thread(f)`` on a plain loop
  anyio                ``anyio.to_thread.run_sync(f)`` on a plain loop
  hypertile            ``hypertile.to_thread(f)`` on a plain loop
Sync rows: ``concurrent.futures.ThreadPoolExecutor`` (stdlib) against
``stealpool.ThreadPoolExecutor`` (stealpool).

Peers that do not import are skipped with a note; nothing is installed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from typing import Callable, NamedTuple

import stealpool

from .loops import Caller
from .results import STDLIB, STEALPOOL

# The order peers run in within each round, and their column order.
# stealpool and stdlib make the same call, so their ratio is like for like;
# so do to_thread+install and asyncio.to_thread (a coroutine and a Task each).
ASYNC_PEER_ORDER = [STEALPOOL, STDLIB, "pool.run", "to_thread+install", "asyncio.to_thread", "anyio", "hypertile"]


class AsyncPeer(NamedTuple):
    name: str
    # Called once on the peer's own loop, in its thread; returns how to send a call.
    prepare: Callable[[asyncio.AbstractEventLoop], Caller]


def stdlib_run_in_executor(loop: asyncio.AbstractEventLoop) -> Caller:
    return functools.partial(loop.run_in_executor, None)


def _plain_asyncio_to_thread(loop: asyncio.AbstractEventLoop) -> Caller:
    return asyncio.to_thread


def _installed_run_in_executor(loop: asyncio.AbstractEventLoop) -> Caller:
    stealpool.install(loop)
    return functools.partial(loop.run_in_executor, None)


def _installed_pool_run(loop: asyncio.AbstractEventLoop) -> Caller:
    return stealpool.install(loop).run


def _installed_asyncio_to_thread(loop: asyncio.AbstractEventLoop) -> Caller:
    stealpool.install(loop)
    return asyncio.to_thread


def _anyio_peer() -> tuple[AsyncPeer | None, str]:
    try:
        import anyio.to_thread
    except ImportError as exc:
        return None, f"anyio not importable ({exc}): skipped"
    return AsyncPeer("anyio", lambda loop: anyio.to_thread.run_sync), ""


def _hypertile_peer() -> tuple[AsyncPeer | None, str]:
    try:
        import hypertile
    except Exception as exc:  # an ImportError, or a broken install failing some other way
        return None, f"hypertile not importable ({exc}): skipped"
    if not callable(getattr(hypertile, "to_thread", None)):
        return None, "hypertile imports but has no to_thread(): skipped"
    return AsyncPeer("hypertile", lambda loop: hypertile.to_thread), ""


def available_async_peers() -> tuple[list[AsyncPeer], list[str]]:
    """Every async peer that imports, in ASYNC_PEER_ORDER; notes on the rest."""
    peers = [
        AsyncPeer(STEALPOOL, _installed_run_in_executor),
        AsyncPeer(STDLIB, stdlib_run_in_executor),
        AsyncPeer("pool.run", _installed_pool_run),
        AsyncPeer("to_thread+install", _installed_asyncio_to_thread),
        AsyncPeer("asyncio.to_thread", _plain_asyncio_to_thread),
    ]
    notes: list[str] = []
    for find in (_anyio_peer, _hypertile_peer):
        peer, note = find()
        if peer is not None:
            peers.append(peer)
        if note:
            notes.append(note)
    return peers, notes


# Sync rows: a pool class per peer, built with the same arguments.
PoolFactory = Callable[..., concurrent.futures.ThreadPoolExecutor]
SYNC_POOLS: dict[str, PoolFactory] = {
    STEALPOOL: stealpool.ThreadPoolExecutor,
    STDLIB: concurrent.futures.ThreadPoolExecutor,
}


def noop(*_: object) -> None:
    """The call every overhead workload sends: all cost is the pool's."""
    return None
