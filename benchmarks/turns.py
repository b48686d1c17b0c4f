"""Ratios of two ways timed in the same turns, for the benchmarks whose ways take turns.

On this shared machine a way's epochs can shift by a third within tens of seconds (another
tenant's load comes and goes), so the ratio of two ways' overall medians moves with which
turns happened to fall into a slow spell. Dividing the two ways' medians turn by turn
compares runs made seconds apart; the median of those ratios, with a bootstrap interval
over the turns, is what a target is checked against.
"""

import random
import statistics
from collections.abc import Sequence


def bootstrap_interval(
    values: Sequence[float], draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """5th and 95th percentile of the median of ``values`` resampled with replacement:
    how far the load noise alone could move the reported median."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(draws))
    return medians[draws // 20], medians[draws - 1 - draws // 20]


def turn_ratios(
    numerator: Sequence[Sequence[float]], denominator: Sequence[Sequence[float]]
) -> list[float]:
    """Per turn, the median of ``numerator``'s times over the median of ``denominator``'s."""
    if len(numerator) != len(denominator):
        raise ValueError(f"{len(numerator)} turns against {len(denominator)}")
    return [
        statistics.median(top) / statistics.median(bottom)
        for top, bottom in zip(numerator, denominator, strict=True)
    ]


def paired_ratio(
    numerator: Sequence[Sequence[float]], denominator: Sequence[Sequence[float]]
) -> tuple[float, float, float]:
    """The median of the per-turn ratios and its 90 % bootstrap interval (low, high)."""
    ratios = turn_ratios(numerator, denominator)
    low, high = bootstrap_interval(ratios)
    return statistics.median(ratios), low, high


Paired = dict[str, tuple[float, float, float]]  # name -> (median, low, high)


def paired_lines(paired: Paired) -> list[str]:
    """One printed line per paired ratio."""
    return [
        f"{name}, paired by turn: {median:.2f}x (90% interval {low:.2f}x .. {high:.2f}x)"
        for name, (median, low, high) in paired.items()
    ]


def paired_values(paired: Paired) -> dict[str, float]:
    """The record's keys for the paired ratios: ``<name> paired``, ``low`` and ``high``."""
    values = {}
    for name, (median, low, high) in paired.items():
        values.update({f"{name} paired": median, f"{name} low": low, f"{name} high": high})
    return values
