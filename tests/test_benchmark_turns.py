"""benchmarks/turns.py: the per-turn ratios that the speed targets are checked against."""

import pytest

from benchmarks.turns import bootstrap_interval, paired_ratio, turn_ratios


def test_ratios_are_taken_turn_by_turn():
    # the machine slows down by half in the last two turns; both ways slow down with it
    fast_way = [[1.0, 1.2, 1.0], [1.5, 1.5], [1.5]]
    slow_way = [[1.1], [1.65, 1.7, 1.6], [1.65]]
    assert turn_ratios(slow_way, fast_way) == pytest.approx([1.1, 1.1, 1.1])
    assert paired_ratio(slow_way, fast_way) == pytest.approx((1.1, 1.1, 1.1))


def test_the_interval_brackets_the_median_and_widens_with_noise():
    steady = [1.10, 1.11, 1.09, 1.10, 1.10, 1.11, 1.09]
    noisy = [0.8, 1.4, 1.1, 0.9, 1.3, 1.0, 1.2]
    low, high = bootstrap_interval(steady)
    assert low <= 1.10 <= high and high - low < 0.03
    noisy_low, noisy_high = bootstrap_interval(noisy)
    assert noisy_high - noisy_low > 5 * (high - low)


def test_turn_counts_must_match():
    with pytest.raises(ValueError, match="2 turns against 1"):
        turn_ratios([[1.0], [1.0]], [[1.0]])
