"""What every workload needs to know: sizes, rounds, peers, where to report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional

from .alternation import alternate
from .progress import Progress
from .sizes import Sizes

# Seconds one sample may take before the harness calls it a hang; far above
# any healthy --full sample, so only a stuck pool trips it.
SAMPLE_TIMEOUT_S = 300.0


class BenchHang(RuntimeError):
    """A sample did not finish in SAMPLE_TIMEOUT_S: a pool is stuck."""


@dataclass
class BenchContext:
    sizes: Sizes
    rounds: int
    warmup: int = 1
    progress: Progress = field(default_factory=Progress)
    notes: List[str] = field(default_factory=list)

    def note(self, message: str) -> None:
        """Records a caveat for the report (printed once, in its header)."""
        if message not in self.notes:
            self.notes.append(message)

    def alternate(
        self,
        label: str,
        contenders: Mapping[str, Callable[[], float]],
        rounds: Optional[int] = None,
        warmup: Optional[int] = None,
    ) -> Dict[str, List[float]]:
        """The context's rounds of A B A B … over ``contenders``, with progress."""
        self.progress.row(label)
        samples = alternate(
            contenders,
            rounds=self.rounds if rounds is None else rounds,
            warmup=self.warmup if warmup is None else warmup,
            on_round=self.progress.round,
        )
        self.progress.done(label)
        return samples
