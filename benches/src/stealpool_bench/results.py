"""The arithmetic of a report: peers alternated round by round, medians, ratios, rows.

A machine's speed drifts during a run (frequency scaling, other processes,
heap growth). Running every contender once per round, rounds back to back
(A B A B …), spreads that drift over all contenders instead of charging it
to whichever ran last; the medians then compare like with like, and each
peer's ratio to the baseline says how many times better it did.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, NamedTuple

STDLIB = "stdlib"
STEALPOOL = "stealpool"
LOWER_IS_BETTER = "lower"
# A row's params key, per peer: that peer's share of the row's floor (floor time / peer time).
FRACTION_OF_FLOOR = "{}_fraction_of_floor"
# The anyio rows' second floor, whose call is resumed by the loop as an offload's is.
FRACTION_OF_RESUMED_FLOOR = "{}_fraction_of_resumed_floor"
# fresh_roundtrip's second floor, whose answerer sleeps between calls as a pool's worker does.
FRACTION_OF_PARKED_FLOOR = "{}_fraction_of_parked_floor"
HIGHER_IS_BETTER = "higher"


class Turn(NamedTuple):
    round_index: int  # 0-based, warm-up rounds first
    contender: str
    measured: bool  # False in warm-up rounds


def alternation_schedule(contenders: Sequence[str], rounds: int, warmup: int, mirrored: bool = False) -> list[Turn]:
    """Every contender once per round, in the same order each round; ``mirrored``: reversed every other round.

    A sample that takes half a minute (a web server's run through its cells)
    is long enough for the machine to change within a round, so a peer that
    always went first would always meet the first half of it: mirrored rounds
    (A B, B A, A B …) take turns at each place.
    """
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if warmup < 0:
        raise ValueError("warmup must not be negative")
    if len(set(contenders)) != len(contenders):
        raise ValueError("contender names must be unique")
    return [
        Turn(round_index, name, round_index >= warmup)
        for round_index in range(warmup + rounds)
        for name in (contenders[::-1] if mirrored and round_index % 2 else contenders)
    ]


RoundCallback = Callable[[int, int, bool], None]


def alternate(
    contenders: Mapping[str, Callable[[], float]],
    rounds: int,
    warmup: int,
    on_round: RoundCallback | None = None,
    mirrored: bool = False,
) -> dict[str, list[float]]:
    """Runs the schedule; returns each contender's measured samples in round order.

    A contender is a callable doing one sample and returning its measurement.
    ``on_round(round_index, total_rounds, measured)`` is called as each round
    begins, for progress lines.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    total_rounds = warmup + rounds
    current_round = -1
    for turn in alternation_schedule(list(contenders), rounds, warmup, mirrored):
        if turn.round_index != current_round:
            current_round = turn.round_index
            if on_round is not None:
                on_round(turn.round_index, total_rounds, turn.measured)
        value = contenders[turn.contender]()
        if turn.measured:
            samples[turn.contender].append(value)
    return samples


def median(samples: Sequence[float]) -> float:
    """The median, which one slow round (a page fault, a GC pass) cannot move."""
    if not samples:
        raise ValueError("median of no samples")
    return float(statistics.median(samples))


def ratio_to_baseline(value: float | None, baseline: float | None, better: str) -> float | None:
    """How many times better than the baseline ``value`` is: > 1 means better.

    For times (``better="lower"``) that is baseline / value, for throughputs
    and speedups (``better="higher"``) value / baseline, so one convention
    ("ratio > 1 means faster than the stdlib") reads the same in every row.
    None when either side is missing or zero, rather than a division error
    or an infinite ratio that a reader would take for a measurement.
    """
    if better not in (LOWER_IS_BETTER, HIGHER_IS_BETTER):
        raise ValueError(f"better must be {LOWER_IS_BETTER!r} or {HIGHER_IS_BETTER!r}, got {better!r}")
    if value is None or baseline is None or value <= 0 or baseline <= 0:
        return None
    if better == LOWER_IS_BETTER:
        return baseline / value
    return value / baseline


@dataclass
class Row:
    """One row of the report: a workload's medians per peer and their ratios."""

    workload: str  # the --only name
    variant: str  # what sets rows of one workload apart: a loop, a worker count, a piece size
    unit: str
    better: str  # "lower" or "higher"
    medians: dict[str, float]
    ratios: dict[str, float | None]  # peer -> ratio to the baseline, > 1 means better
    samples: dict[str, list[float]]
    baseline: str | None = STDLIB
    references: list[str] = field(default_factory=list)  # columns shown for scale, not ranked
    params: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.workload} [{self.variant}]" if self.variant else self.workload

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        return data


def make_row(
    workload: str,
    variant: str,
    unit: str,
    better: str,
    samples: Mapping[str, Sequence[float]],
    baseline: str | None = STDLIB,
    references: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    note: str = "",
) -> Row:
    """Medians of ``samples`` (already in ``unit``), each peer's ratio to ``baseline``.

    References (a process limit, a serial run, the loop's own floor) are
    yardsticks rather than competitors, so they get no ratio.
    """
    kept_references = [name for name in references if name in samples]
    medians = {name: median(values) for name, values in samples.items() if values}
    ratios: dict[str, float | None] = {}
    if baseline is not None and baseline in medians:
        for name, value in medians.items():
            if name != baseline and name not in kept_references:
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
        references=kept_references,
        params=dict(params or {}),
        note=note,
    )
