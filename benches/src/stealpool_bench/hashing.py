"""GIL-releasing work: sha256 scaling with workers, and with the size of a task.

sha256  1 MiB pieces at 1, 2, 4, ... os.cpu_count() workers; speedup over the
        same hashing done serially, next to the process limit.
grain   the same bytes cut into 4 KiB, 64 KiB and 1 MiB pieces at the full
        worker count: MB/s, where per-task overhead shows once tasks are small.

The process limit is the machine's own: the same hashing in separate
processes at once. Processes share no GIL and no pool, so N of them hashing
their share in parallel shows what N cores can do; a thread pool can
approach that, not beat it. The processes are started once (spawn, so no
pool threads are forked along) and reused for every sample, keeping
start-up off the clock.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from statistics import fmean
from typing import Callable

from .context import SAMPLE_TIMEOUT_S, BenchContext, BenchHang
from .pool_workloads import Executor, open_pools, wait_all
from .results import HIGHER_IS_BETTER, Row, make_row, median

MIB = 1 << 20
KIB = 1 << 10
GRAIN_PIECE_SIZES = (4 * KIB, 64 * KIB, MIB)
PROCESS_LIMIT = "process limit"
SERIAL = "serial"

FILL_BYTE = b"\x5a"


def hash_repeatedly(piece: bytes, count: int) -> None:
    for _ in range(count):
        hashlib.sha256(piece).digest()


def _member(connection: Connection) -> None:
    pieces: dict[int, bytes] = {}
    while True:
        command: tuple[int, int] | None = connection.recv()
        if command is None:
            return
        count, piece_size = command
        piece = pieces.get(piece_size)
        if piece is None:
            piece = pieces[piece_size] = FILL_BYTE * piece_size
        started = time.perf_counter()
        hash_repeatedly(piece, count)
        connection.send(time.perf_counter() - started)


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` pieces over ``parts`` members, sizes differing by at most one."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


class ProcessGang:
    """``size`` hashing processes that take their share on command."""

    def __init__(self, size: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._connections: list[Connection] = []
        self._processes = []
        for _ in range(size):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_member, args=(child_end,), daemon=True)
            process.start()
            child_end.close()
            self._connections.append(parent_end)
            self._processes.append(process)

    def __enter__(self) -> ProcessGang:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def hash(self, members: int, pieces: int, piece_size: int) -> float:
        """Seconds until the slowest of ``members`` processes has hashed its share."""
        if not 1 <= members <= len(self._connections):
            raise ValueError(f"members must be between 1 and {len(self._connections)}")
        shares = split_evenly(pieces, members)
        busy = self._connections[:members]
        for connection, share in zip(busy, shares):
            connection.send((share, piece_size))
        durations = []
        for connection in busy:
            if not connection.poll(SAMPLE_TIMEOUT_S):
                raise BenchHang("process limit: a hashing process did not answer")
            durations.append(float(connection.recv()))
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


def cpu_count() -> int:
    return os.cpu_count() or 1


def worker_counts(cpus: int) -> list[int]:
    """1, 2, 4, ... below ``cpus``, then ``cpus`` itself."""
    counts = []
    count = 1
    while count < cpus:
        counts.append(count)
        count *= 2
    counts.append(max(cpus, 1))
    return counts


def _digest(piece: bytes) -> bytes:
    return hashlib.sha256(piece).digest()


def _pool_hashes(pool: Executor, piece: bytes, pieces: int) -> float:
    started = time.perf_counter()
    futures = [pool.submit(_digest, piece) for _ in range(pieces)]
    wait_all(futures, f"hashing on {type(pool).__module__}")
    return time.perf_counter() - started


def _serial_hashes(piece: bytes, pieces: int) -> float:
    started = time.perf_counter()
    hash_repeatedly(piece, pieces)
    return time.perf_counter() - started


def hashing_contenders(
    pools: dict[str, Executor], gang: ProcessGang, workers: int, piece_size: int, pieces: int
) -> dict[str, Callable[[], float]]:
    """A serial sample before each pool's, then the process limit.

    A pool's sample taken right after the calling thread hashed alone reads
    a few percent slower than the same sample elsewhere in the round (two
    workers on 256 MiB: stealpool at 0.96-0.98x the stdlib's speed in that
    place, 1.00-1.02x with the stdlib there or with a serial sample before
    each), so every pool follows a serial sample and none pays that alone.
    """
    piece = FILL_BYTE * piece_size
    contenders: dict[str, Callable[[], float]] = {}
    for name, pool in pools.items():
        contenders[_serial_before(name)] = lambda: _serial_hashes(piece, pieces)
        contenders[name] = functools.partial(_pool_hashes, pool, piece, pieces)
    contenders[PROCESS_LIMIT] = lambda: gang.hash(workers, pieces, piece_size)
    return contenders


def _serial_before(pool_name: str) -> str:
    return f"{SERIAL} before {pool_name}"


def pool_serial_samples(samples: dict[str, list[float]]) -> dict[str, list[float]]:
    """``samples`` with the serial samples of each round averaged into one, under ``SERIAL``."""
    serial_names = [name for name in samples if name.startswith(_serial_before(""))]
    per_round = zip(*(samples[name] for name in serial_names))
    pooled = {name: values for name, values in samples.items() if name not in serial_names}
    pooled[SERIAL] = [fmean(round_samples) for round_samples in per_round]
    return pooled


def run_sha256(ctx: BenchContext) -> list[Row]:
    pieces = ctx.sizes.sha256_pieces
    rows = []
    with ProcessGang(cpu_count()) as gang:
        for workers in worker_counts(cpu_count()):
            label = f"sha256 [{workers} workers]"
            with open_pools(workers) as pools:
                samples = pool_serial_samples(
                    ctx.alternate(label, hashing_contenders(pools, gang, workers, MIB, pieces))
                )
            serial = median(samples.pop(SERIAL))
            speedups = {name: [serial / seconds for seconds in values] for name, values in samples.items()}
            rows.append(
                make_row(
                    "sha256",
                    f"{workers} workers",
                    "x serial",
                    HIGHER_IS_BETTER,
                    speedups,
                    references=[PROCESS_LIMIT],
                    params={"workers": workers, "pieces": pieces, "piece_bytes": MIB, "serial_s": serial},
                    note=f"serial {serial * 1e3:.1f} ms for {pieces} x 1 MiB",
                )
            )
    return rows


def run_grain(ctx: BenchContext) -> list[Row]:
    workers = cpu_count()
    total_bytes = ctx.sizes.grain_mib * MIB
    rows = []
    with ProcessGang(workers) as gang, open_pools(workers) as pools:
        for piece_size in GRAIN_PIECE_SIZES:
            pieces = total_bytes // piece_size
            variant = f"{piece_size // KIB} KiB" if piece_size < MIB else f"{piece_size // MIB} MiB"
            samples = pool_serial_samples(
                ctx.alternate(f"grain [{variant}]", hashing_contenders(pools, gang, workers, piece_size, pieces))
            )
            throughput = {name: [total_bytes / seconds / 1e6 for seconds in values] for name, values in samples.items()}
            rows.append(
                make_row(
                    "grain",
                    variant,
                    "MB/s",
                    HIGHER_IS_BETTER,
                    throughput,
                    references=[SERIAL, PROCESS_LIMIT],
                    params={
                        "workers": workers,
                        "pieces": pieces,
                        "piece_bytes": piece_size,
                        "total_bytes": total_bytes,
                    },
                    note=f"{workers} workers, {pieces} tasks",
                )
            )
    return rows
