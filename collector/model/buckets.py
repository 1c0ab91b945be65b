"""Bucket arithmetic shared by receivers and processors, vectorised with numpy.

Conventions (all upper-inclusive, as OTel and Prometheus define them):
- explicit bounds b: bucket i counts v in (b[i-1], b[i]]; the last bucket is +Inf.
- exponential histogram at scale s: base = 2**(2**-s); index i counts v in
  (base**i, base**(i+1)]. Scale 0 is powers of two: index i is (2^i, 2^(i+1)].
- kernel log2 slots (bpf/log2.bpf.h): slot 0 counts v <= 1, slot s >= 1 counts
  v in (2^(s-1), 2^s]. So slot s is exactly exponential index s - 1 at scale 0 and
  exactly the explicit bucket whose upper bound is 2^s (in the kernel's unit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]

MAX_SCALE = 20
MIN_SCALE = -10


def explicit_buckets(values: Array, bounds: Array) -> Array:
    """Bucket number of each value for upper-inclusive explicit bounds (len(bounds) = +Inf)."""
    result: Array = np.searchsorted(bounds, values, side="left")
    return result


def exponential_indexes(values: Array, scale: int) -> Array:
    """OTel exponential-histogram index of each positive value at `scale` (int64).

    Powers of two are exact at every scale (they are bucket upper bounds); for
    scale <= 0 the index comes from the binary exponent alone (frexp), so it is exact."""
    mantissa, exponent = np.frexp(values)
    # v = m * 2^e with m in [0.5, 1): v is in (2^(e-1), 2^e), or exactly 2^(e-1) when m == 0.5.
    base2 = exponent.astype(np.int64) - 1 - (mantissa == 0.5)
    if scale <= 0:
        shifted: Array = base2 >> -scale
        return shifted
    idx: Array = np.ceil(np.log2(values) * (1 << scale)).astype(np.int64) - 1
    # Exact powers of two: log2 is exact, but keep them exact regardless of rounding.
    exact = mantissa == 0.5
    if exact.any():
        idx[exact] = (base2[exact] + 1) * (1 << scale) - 1
    return idx


def downscale_needed(low: int, high: int, max_size: int) -> int:
    """Smallest shift c such that indexes low..high fit in max_size buckets after >> c."""
    shift = 0
    while (high >> shift) - (low >> shift) + 1 > max_size:
        shift += 1
    return shift


def downscale_counts(offset: int, counts: Array, shift: int) -> tuple[int, Array]:
    """Merge neighbouring buckets: index i at scale s is index i >> shift at scale s - shift."""
    if shift == 0 or len(counts) == 0:
        return offset, counts
    idx = (np.arange(len(counts), dtype=np.int64) + offset) >> shift
    new_offset = int(idx[0])
    return new_offset, np.bincount(idx - new_offset, weights=counts, minlength=int(idx[-1]) - new_offset + 1).astype(
        np.int64
    )


def add_counts(offset_a: int, a: Array, offset_b: int, b: Array) -> tuple[int, Array]:
    """Sum two bucket arrays at the same scale with different offsets."""
    if len(a) == 0:
        return offset_b, b.astype(np.int64, copy=True)
    if len(b) == 0:
        return offset_a, a
    low = min(offset_a, offset_b)
    high = max(offset_a + len(a), offset_b + len(b))
    out = np.zeros(high - low, dtype=np.int64)
    out[offset_a - low : offset_a - low + len(a)] += a
    out[offset_b - low : offset_b - low + len(b)] += b
    return low, out


def log2_slots_to_exponential(slots: Sequence[int] | Array) -> tuple[int, list[int]]:
    """Kernel log2 slots -> (positive_offset, positive_counts) of a scale-0 exponential
    histogram in the kernel's unit. Slot s is index s - 1, exactly; leading and
    trailing empty slots are trimmed."""
    arr = np.asarray(slots, dtype=np.int64)
    nonzero = np.flatnonzero(arr)
    if len(nonzero) == 0:
        return 0, []
    first, last = int(nonzero[0]), int(nonzero[-1])
    return first - 1, [int(c) for c in arr[first : last + 1]]


# Kernel log2 slots of nanoseconds, exported in seconds: buckets from 2^10 ns (~1 µs)
# to 2^36 ns (~69 s); smaller slots fold into the first bucket, larger into +Inf.
NS_SLOT_BOUNDS_SECONDS: tuple[float, ...] = tuple(2.0**s * 1e-9 for s in range(10, 37))


def ns_slots_to_seconds_buckets(slots: Sequence[int] | Array) -> list[int]:
    """Counts for NS_SLOT_BOUNDS_SECONDS (plus +Inf) from kernel nanosecond log2 slots."""
    return log2_slots_to_explicit(slots, NS_SLOT_BOUNDS_SECONDS, unit=1e-9)


def log2_slots_to_explicit(slots: Sequence[int] | Array, bounds: Sequence[float], unit: float = 1.0) -> list[int]:
    """Kernel log2 slots -> explicit-bucket counts for `bounds` (len(bounds) + 1 counts).

    Each bound, divided by `unit` (the size of one kernel unit in the metric's unit,
    e.g. 1e-9 for ns slots reported in seconds), must be a power of two 2^k: the
    bucket with that upper bound then collects slots up to k exactly. Anything else
    would split a slot between buckets, so it is refused with ValueError."""
    arr = np.asarray(slots, dtype=np.int64)
    edges: list[int] = []
    for b in bounds:
        exponent = math.log2(b / unit) if b > 0 else math.nan
        k = round(exponent) if math.isfinite(exponent) else -1
        if k < 0 or not math.isclose(2.0**k * unit, b, rel_tol=1e-9):
            raise ValueError(f"bound {b} is not a power of two times {unit}; kernel log2 slots cannot map onto it")
        edges.append(k)
    if edges != sorted(set(edges)):
        raise ValueError("bounds must be strictly increasing")
    counts: list[int] = []
    start = 0
    for k in edges:
        counts.append(int(arr[start : k + 1].sum()))
        start = k + 1
    counts.append(int(arr[start:].sum()))
    return counts


def quantiles_sorted(sorted_values: Array, starts: Array, counts: Array, q: float) -> Array:
    """Quantile q of each group in a group-sorted array (linear interpolation between
    closest ranks, numpy's default; q=0 and q=1 are the exact min and max)."""
    pos = starts + q * (counts - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, starts + counts - 1)
    frac = pos - lo
    result: Array = sorted_values[lo] * (1 - frac) + sorted_values[hi] * frac
    return result
