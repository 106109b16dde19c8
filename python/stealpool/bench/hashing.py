"""GIL-releasing work: sha256 scaling with workers, and with the size of a task.

sha256  1 MiB pieces at 1, 2, 4, ... os.cpu_count() workers; speedup over the
        same hashing done serially, next to the process limit.
grain   the same bytes cut into 4 KiB, 64 KiB and 1 MiB pieces at the full
        worker count: MB/s, where per-task overhead shows once tasks are small.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Callable, Dict, List

from .context import BenchContext
from .pool_workloads import Executor, open_pools, wait_all
from .process_limit import FILL_BYTE, ProcessGang, hash_repeatedly
from .results import Row, make_row
from .stats import HIGHER_IS_BETTER, median

MIB = 1 << 20
KIB = 1 << 10
GRAIN_PIECE_SIZES = (4 * KIB, 64 * KIB, MIB)
PROCESS_LIMIT = "process limit"
SERIAL = "serial"


def cpu_count() -> int:
    return os.cpu_count() or 1


def worker_counts(cpus: int) -> List[int]:
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
    wait_all(futures, "hashing on {}".format(type(pool).__module__))
    return time.perf_counter() - started


def _serial_hashes(piece: bytes, pieces: int) -> float:
    started = time.perf_counter()
    hash_repeatedly(piece, pieces)
    return time.perf_counter() - started


def _hashing_contenders(
    pools: Dict[str, Executor], gang: ProcessGang, workers: int, piece_size: int, pieces: int
) -> Dict[str, Callable[[], float]]:
    piece = FILL_BYTE * piece_size
    contenders: Dict[str, Callable[[], float]] = {SERIAL: lambda: _serial_hashes(piece, pieces)}
    for name, pool in pools.items():
        contenders[name] = lambda pool=pool: _pool_hashes(pool, piece, pieces)
    contenders[PROCESS_LIMIT] = lambda: gang.hash(workers, pieces, piece_size)
    return contenders


def run_sha256(ctx: BenchContext) -> List[Row]:
    pieces = ctx.sizes.sha256_pieces
    rows = []
    with ProcessGang(cpu_count()) as gang:
        for workers in worker_counts(cpu_count()):
            label = "sha256 [{} workers]".format(workers)
            with open_pools(workers) as pools:
                samples = ctx.alternate(label, _hashing_contenders(pools, gang, workers, MIB, pieces))
            serial = median(samples.pop(SERIAL))
            speedups = {name: [serial / seconds for seconds in values] for name, values in samples.items()}
            rows.append(
                make_row(
                    "sha256", "{} workers".format(workers), "x serial", HIGHER_IS_BETTER, speedups,
                    references=[PROCESS_LIMIT],
                    params={"workers": workers, "pieces": pieces, "piece_bytes": MIB, "serial_s": serial},
                    note="serial {:.1f} ms for {} x 1 MiB".format(serial * 1e3, pieces),
                )
            )
    return rows


def run_grain(ctx: BenchContext) -> List[Row]:
    workers = cpu_count()
    total_bytes = ctx.sizes.grain_mib * MIB
    rows = []
    with ProcessGang(workers) as gang, open_pools(workers) as pools:
        for piece_size in GRAIN_PIECE_SIZES:
            pieces = total_bytes // piece_size
            variant = "{} KiB".format(piece_size // KIB) if piece_size < MIB else "{} MiB".format(piece_size // MIB)
            samples = ctx.alternate("grain [{}]".format(variant), _hashing_contenders(pools, gang, workers, piece_size, pieces))
            throughput = {name: [total_bytes / seconds / 1e6 for seconds in values] for name, values in samples.items()}
            rows.append(
                make_row(
                    "grain", variant, "MB/s", HIGHER_IS_BETTER, throughput,
                    references=[SERIAL, PROCESS_LIMIT],
                    params={"workers": workers, "pieces": pieces, "piece_bytes": piece_size, "total_bytes": total_bytes},
                    note="{} workers, {} tasks".format(workers, pieces),
                )
            )
    return rows
