"""How much work each workload does per sample, for --quick, default and --full.

--full uses the sizes the workloads are defined with. The default scales
them down so the whole set takes about a minute on a 2-core machine; --quick
is a smoke test of a few seconds, too small to mean anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    name: str
    rounds: int  # measured rounds when --rounds is not given
    roundtrip_calls: int  # sequential awaits per sample
    burst_calls: int  # no-ops gathered at once (also the floor's futures)
    pool_tasks: int  # submit() / map() tasks per sample
    sha256_pieces: int  # 1 MiB hashes per sha256 sample
    grain_mib: int  # MiB hashed per grain sample, whatever the piece size
    sleep_tasks: int  # 5 ms sleeps on 64 workers
    memory_tasks: int  # no-ops queued behind a blocked pool
    gil_tasks: int  # C-function tasks run while another thread wants the GIL


FULL = Sizes(
    name="full",
    rounds=5,
    roundtrip_calls=10_000,
    burst_calls=20_000,
    pool_tasks=100_000,
    sha256_pieces=64,
    grain_mib=64,
    sleep_tasks=1000,
    memory_tasks=1_000_000,
    gil_tasks=600_000,
)

DEFAULT = Sizes(
    name="default",
    rounds=5,
    roundtrip_calls=1_000,
    burst_calls=5_000,
    pool_tasks=20_000,
    sha256_pieces=48,
    grain_mib=32,
    sleep_tasks=1000,
    memory_tasks=200_000,
    gil_tasks=100_000,
)

QUICK = Sizes(
    name="quick",
    rounds=2,
    roundtrip_calls=50,
    burst_calls=200,
    pool_tasks=1_000,
    sha256_pieces=4,
    grain_mib=2,
    sleep_tasks=128,
    memory_tasks=10_000,
    gil_tasks=2_000,
)
