"""Exponential histograms as classic `le` buckets, checked against the values they came from."""

from __future__ import annotations

import math
import random

import pytest

from collector.model import ExponentialHistogramPoint
from exporters.prometheus.buckets import exponential_bound, exponential_to_buckets, merge_exponential


def histogram(values: list[float], scale: int) -> ExponentialHistogramPoint:
    """Bucket values the way the OTel spec defines it: index i holds (base**i, base**(i+1)]."""
    indexes = [math.ceil(math.log2(v) * 2**scale) - 1 for v in values if v > 0]
    zero = sum(1 for v in values if v == 0)
    if not indexes:
        return ExponentialHistogramPoint({}, scale, zero, 0, [], sum(values), 0, 0)
    low = min(indexes)
    counts = [0] * (max(indexes) - low + 1)
    for i in indexes:
        counts[i - low] += 1
    return ExponentialHistogramPoint({}, scale, zero, low, counts, sum(values), 0, 0)


@pytest.mark.parametrize("scale", [-2, -1, 0, 1, 3, 5])
def test_classic_buckets_count_the_values_at_or_below_each_bound(scale: int) -> None:
    rng = random.Random(scale)
    values = [rng.lognormvariate(3, 2) for _ in range(2000)] + [0.0] * 7
    bounds, counts = exponential_to_buckets(histogram(values, scale))
    assert len(counts) == len(bounds) + 1 and counts[-1] == 0
    assert bounds == sorted(bounds)
    cumulative = 0
    for bound, count in zip(bounds, counts, strict=False):
        cumulative += count
        assert cumulative == sum(1 for v in values if v <= bound), bound
    assert sum(counts) == len(values)


def test_scale_zero_bounds_are_exact_powers_of_two() -> None:
    # The kernel's log2 slots: slot k counts values in (2**(k-1), 2**k] (index k-1 at scale 0).
    point = ExponentialHistogramPoint({}, 0, 1, 3, [5, 0, 2], 0.0, 0, 0)
    assert exponential_to_buckets(point) == ([8.0, 16.0, 32.0, 64.0], [1, 5, 0, 2, 0])
    assert exponential_bound(9, -1) == 2.0**20
    assert exponential_bound(3, 2) == pytest.approx(2.0)


def test_merge_at_different_scales_equals_the_coarser_histogram_of_all_values() -> None:
    rng = random.Random(7)
    a = [rng.uniform(0.5, 1000) for _ in range(500)]
    b = [rng.uniform(0.01, 50) for _ in range(300)] + [0.0]
    merged = merge_exponential(histogram(a, 3), histogram(b, 1))
    expected = histogram(a + b, 1)
    assert merged.scale == 1
    trimmed = merged.positive_counts
    offset = merged.positive_offset
    while trimmed and trimmed[0] == 0:
        trimmed, offset = trimmed[1:], offset + 1
    assert (offset, trimmed) == (expected.positive_offset, expected.positive_counts)
    assert merged.zero_count == expected.zero_count == 1
    assert merged.sum == pytest.approx(expected.sum)
