"""The machine's own limit: the same hashing in separate processes at once.

Processes share no GIL and no pool, so N of them hashing their share in
parallel shows what N cores can do; a thread pool can approach that, not
beat it. The processes are started once (spawn, so no pool threads are
forked along) and reused for every sample, keeping start-up off the clock.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Dict, List, Optional, Tuple

from .context import SAMPLE_TIMEOUT_S, BenchHang

FILL_BYTE = b"\x5a"


def hash_repeatedly(piece: bytes, count: int) -> None:
    for _ in range(count):
        hashlib.sha256(piece).digest()


def _member(connection: Connection) -> None:
    pieces: Dict[int, bytes] = {}
    while True:
        command: Optional[Tuple[int, int]] = connection.recv()
        if command is None:
            return
        count, piece_size = command
        piece = pieces.get(piece_size)
        if piece is None:
            piece = pieces[piece_size] = FILL_BYTE * piece_size
        started = time.perf_counter()
        hash_repeatedly(piece, count)
        connection.send(time.perf_counter() - started)


def split_evenly(total: int, parts: int) -> List[int]:
    """``total`` pieces over ``parts`` members, sizes differing by at most one."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


class ProcessGang:
    """``size`` hashing processes that take their share on command."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._connections: List[Connection] = []
        self._processes = []
        for _ in range(size):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_member, args=(child_end,), daemon=True)
            process.start()
            child_end.close()
            self._connections.append(parent_end)
            self._processes.append(process)

    def __enter__(self) -> "ProcessGang":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def hash(self, members: int, pieces: int, piece_size: int) -> float:
        """Seconds until the slowest of ``members`` processes has hashed its share."""
        if not 1 <= members <= len(self._connections):
            raise ValueError("members must be between 1 and {}".format(len(self._connections)))
        shares = split_evenly(pieces, members)
        busy = self._connections[:members]
        for connection, share in zip(busy, shares):
            connection.send((share, piece_size))
        durations = []
        for connection in busy:
            if not connection.poll(SAMPLE_TIMEOUT_S):
                raise BenchHang("process limit: a hashing process did not answer")
            durations.append(connection.recv())
        return max(durations)

    def close(self) -> None:
        for connection in self._connections:
            try:
                connection.send(None)
                connection.close()
            except OSError:
                pass  # the member is already gone; join below still reaps it
        for process in self._processes:
            process.join(10)
            if process.is_alive():
                process.terminate()
