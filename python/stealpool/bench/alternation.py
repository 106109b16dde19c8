"""Interleaving contenders: A B A B … so drift hits all of them alike.

A machine's speed drifts during a run (frequency scaling, other processes,
heap growth). Running every contender once per round, rounds back to back,
spreads that drift over all contenders instead of charging it to whichever
ran last; the medians then compare like with like.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence


class Turn(NamedTuple):
    round_index: int  # 0-based, warm-up rounds first
    contender: str
    measured: bool  # False in warm-up rounds


def alternation_schedule(contenders: Sequence[str], rounds: int, warmup: int) -> List[Turn]:
    """Every contender once per round, in the same order each round."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if warmup < 0:
        raise ValueError("warmup must not be negative")
    if len(set(contenders)) != len(contenders):
        raise ValueError("contender names must be unique")
    return [
        Turn(round_index, name, round_index >= warmup)
        for round_index in range(warmup + rounds)
        for name in contenders
    ]


RoundCallback = Callable[[int, int, bool], None]


def alternate(
    contenders: Mapping[str, Callable[[], float]],
    rounds: int,
    warmup: int,
    on_round: Optional[RoundCallback] = None,
) -> Dict[str, List[float]]:
    """Runs the schedule; returns each contender's measured samples in round order.

    A contender is a callable doing one sample and returning its measurement.
    ``on_round(round_index, total_rounds, measured)`` is called as each round
    begins, for progress lines.
    """
    samples: Dict[str, List[float]] = {name: [] for name in contenders}
    total_rounds = warmup + rounds
    current_round = -1
    for turn in alternation_schedule(list(contenders), rounds, warmup):
        if turn.round_index != current_round:
            current_round = turn.round_index
            if on_round is not None:
                on_round(turn.round_index, total_rounds, turn.measured)
        value = contenders[turn.contender]()
        if turn.measured:
            samples[turn.contender].append(value)
    return samples
