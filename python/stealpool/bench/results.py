"""One row of the report: a workload's medians per peer and their ratios."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from .stats import median, ratio_to_baseline

STDLIB = "stdlib"
STEALPOOL = "stealpool"


@dataclass
class Row:
    workload: str  # the --only name
    variant: str  # what sets rows of one workload apart: a loop, a worker count, a piece size
    unit: str
    better: str  # "lower" or "higher"
    medians: Dict[str, float]
    ratios: Dict[str, Optional[float]]  # peer -> ratio to the baseline, > 1 means better
    samples: Dict[str, List[float]]
    baseline: Optional[str] = STDLIB
    references: List[str] = field(default_factory=list)  # columns shown for scale, not ranked
    params: Dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def label(self) -> str:
        return "{} [{}]".format(self.workload, self.variant) if self.variant else self.workload

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        return data


def make_row(
    workload: str,
    variant: str,
    unit: str,
    better: str,
    samples: Mapping[str, Sequence[float]],
    baseline: Optional[str] = STDLIB,
    references: Iterable[str] = (),
    params: Optional[Mapping[str, Any]] = None,
    note: str = "",
) -> Row:
    """Medians of ``samples`` (already in ``unit``), each peer's ratio to ``baseline``.

    References (a process limit, a serial run, the loop's own floor) are
    yardsticks rather than competitors, so they get no ratio.
    """
    references = [name for name in references if name in samples]
    medians = {name: median(values) for name, values in samples.items() if values}
    ratios: Dict[str, Optional[float]] = {}
    if baseline is not None and baseline in medians:
        for name, value in medians.items():
            if name != baseline and name not in references:
                ratios[name] = ratio_to_baseline(value, medians[baseline], better)
    return Row(
        workload=workload,
        variant=variant,
        unit=unit,
        better=better,
        medians=medians,
        ratios=ratios,
        samples={name: list(values) for name, values in samples.items()},
        baseline=baseline,
        references=references,
        params=dict(params or {}),
        note=note,
    )
