"""What every workload is given: its sizes, its rounds, and where it reports.

Sizes: how much work each workload does per sample, for --quick, default
and --full. --full uses the sizes the workloads are defined with; the
default scales them down so the whole set takes about three minutes on a
2-core machine (half of it the web rows, which time servers for seconds per
cell: web.py); --quick is a smoke test, too small to mean anything.
Progress goes to stderr, so stdout stays the report (or clean JSON).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, TextIO

from .results import alternate

# Seconds one sample may take before the harness calls it a hang; far above
# any healthy --full sample, so only a stuck pool trips it.
SAMPLE_TIMEOUT_S = 300.0


class BenchHang(RuntimeError):
    """A sample did not finish in SAMPLE_TIMEOUT_S: a pool is stuck."""


@dataclass(frozen=True)
class Sizes:
    name: str
    rounds: int  # measured rounds when --rounds is not given
    roundtrip_calls: int  # sequential awaits per sample
    burst_calls: int  # no-ops gathered at once (also the floor's futures)
    pool_tasks: int  # submit() / map() tasks per sample
    # Hashing samples last about 0.1 s at the default size: in samples of
    # 20 ms (48 pieces, as before) the last 1 MiB piece's tail alone, 3-4%,
    # decided the ratio, and 40 alternated samples of the same showed none.
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
    sha256_pieces=512,
    grain_mib=256,
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
    sha256_pieces=256,
    grain_mib=128,
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


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._started = time.monotonic()
        self._label = ""
        # On a terminal each round overwrites the line; in a log, one line per row.
        self._overwrite = bool(getattr(self._stream, "isatty", lambda: False)())

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def row(self, label: str) -> None:
        self._label = label
        self._emit(f"{label} ...", final=not self._overwrite)

    def round(self, round_index: int, total_rounds: int, measured: bool) -> None:
        if not self._overwrite:
            return
        kind = "round" if measured else "warm-up"
        self._emit(f"{self._label} ... {kind} {round_index + 1}/{total_rounds}", final=False)

    def done(self, label: str) -> None:
        if self._overwrite:
            self._emit(f"{label} done", final=True)

    def note(self, message: str) -> None:
        self._emit(message, final=True)

    def _emit(self, text: str, final: bool) -> None:
        if not self._enabled:
            return
        line = f"[bench {self.elapsed():6.1f}s] {text}"
        if self._overwrite:
            self._stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()


@dataclass
class BenchContext:
    sizes: Sizes
    rounds: int
    warmup: int = 1
    progress: Progress = field(default_factory=Progress)
    notes: list[str] = field(default_factory=list)
    busy: bool = False  # --busy: the web rows again, with every core kept busy
    focused: frozenset[str] = frozenset()  # the workloads --only named: those may take longer
    connections: tuple[int, ...] = ()  # --connections: web_db's concurrencies, where asked for

    def note(self, message: str) -> None:
        """Records a caveat for the report (printed once, in its header)."""
        if message not in self.notes:
            self.notes.append(message)

    def alternate(
        self,
        label: str,
        contenders: Mapping[str, Callable[[], float]],
        rounds: int | None = None,
        warmup: int | None = None,
        mirrored: bool = False,
    ) -> dict[str, list[float]]:
        """The context's rounds of A B A B … (``mirrored``: A B, B A …) over ``contenders``, with progress."""
        self.progress.row(label)
        samples = alternate(
            contenders,
            rounds=self.rounds if rounds is None else rounds,
            warmup=self.warmup if warmup is None else warmup,
            on_round=self.progress.round,
            mirrored=mirrored,
        )
        self.progress.done(label)
        return samples
