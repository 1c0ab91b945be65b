"""Bucket arithmetic: upper-inclusive boundaries, exact kernel log2 slot mapping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from collector.model import buckets as bk


def kernel_slot(d: int) -> int:
    """bpf/log2.bpf.h ceil_log2_u64: slot 0 for d <= 1, else ceil(log2(d))."""
    return 0 if d <= 1 else (d - 1).bit_length()


def reference_index(v: float, scale: int) -> int:
    """The OTel definition, per value: the index i with base**i < v <= base**(i+1),
    bounds computed as 2**(i / 2**scale) (exact for powers of two)."""

    def bound(i: int) -> float:
        return 2.0 ** (i / 2.0**scale)

    i = math.floor(math.log2(v) * 2.0**scale)
    while bound(i + 1) < v:
        i += 1
    while bound(i) >= v:
        i -= 1
    return i


@pytest.mark.parametrize("scale", [-3, -1, 0, 1, 3, 8])
def test_exponential_indexes_match_the_otel_definition(scale: int) -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.lognormal(5, 6, 2000), 2.0 ** np.arange(-20, 40, dtype=np.float64)])
    got = bk.exponential_indexes(values, scale)
    want = [reference_index(float(v), scale) for v in values]
    assert got.tolist() == want


def test_powers_of_two_are_upper_bounds() -> None:
    # 2^k is the upper bound of bucket k-1 at scale 0 (upper-inclusive), never bucket k.
    values = 2.0 ** np.arange(0, 50)
    assert bk.exponential_indexes(values, 0).tolist() == list(range(-1, 49))
    assert bk.exponential_indexes(values, 4).tolist() == [16 * k - 1 for k in range(50)]
    assert bk.explicit_buckets(np.array([1.0, 1.5, 2.0, 2.1]), np.array([1.0, 2.0])).tolist() == [0, 1, 1, 2]


def test_kernel_log2_slots_are_scale_zero_buckets_exactly() -> None:
    rng = np.random.default_rng(3)
    durations = np.unique(np.concatenate([rng.integers(2, 2**40, 5000), 2 ** np.arange(1, 40)]))
    slots = np.bincount([kernel_slot(int(d)) for d in durations], minlength=64)
    offset, counts = bk.log2_slots_to_exponential(slots)
    # The same values bucketed directly at scale 0 give the same histogram.
    direct = bk.exponential_indexes(durations.astype(np.float64), 0)
    low = int(direct.min())
    assert offset == low
    assert counts == np.bincount(direct - low).tolist()


def test_kernel_log2_slots_onto_explicit_bounds_in_another_unit() -> None:
    rng = np.random.default_rng(4)
    ns = rng.integers(0, 2**38, 20000)
    slots = np.bincount([kernel_slot(int(d)) for d in ns], minlength=64)
    bounds = [2.0**k * 1e-9 for k in range(10, 37)]  # seconds
    counts = bk.log2_slots_to_explicit(slots, bounds, unit=1e-9)
    direct = np.bincount(bk.explicit_buckets(ns * 1e-9, np.array(bounds)), minlength=len(bounds) + 1)
    assert counts == direct.tolist()
    assert sum(counts) == len(ns)


def test_bounds_that_split_a_slot_are_refused() -> None:
    with pytest.raises(ValueError, match="not a power of two"):
        bk.log2_slots_to_explicit([1, 2, 3], [0.001, 0.005], unit=1e-9)


def test_downscale_merges_neighbours() -> None:
    offset, counts = bk.downscale_counts(-3, np.array([1, 2, 3, 4, 5]), 1)
    # indexes -3..1 at scale s -> -2..0 at s-1: {-2: [-3]}, {-1: [-2, -1]}, {0: [0, 1]}
    assert (offset, counts.tolist()) == (-2, [1, 5, 9])
    assert bk.downscale_needed(0, 1000, 160) == 3
