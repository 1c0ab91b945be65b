"""Exponential histograms (OTel) as classic cumulative-ready `le` buckets, and merging
of delta exponential histograms. Shared by the pull and remote-write exporters."""

from __future__ import annotations

import math

from collector.model import ExponentialHistogramPoint


def exponential_bound(index: int, scale: int) -> float:
    """Upper bound of bucket `index` at `scale`: base**(index+1), base = 2**(2**-scale).
    Exact powers of two for scale <= 0 (the kernel's log2 slots are scale 0)."""
    if scale <= 0:
        return math.ldexp(1.0, (index + 1) << -scale)
    return float(2.0 ** ((index + 1) / (1 << scale)))


def exponential_to_buckets(point: ExponentialHistogramPoint) -> tuple[list[float], list[int]]:
    """(bounds, counts) in HistogramPoint form: counts[i] counts values in (bounds[i-1], bounds[i]],
    and the last count is the +Inf bucket. Zero and negative values all lie below the first
    positive bucket, so they fold into one bucket bounded by that bucket's lower bound."""
    bounds: list[float] = []
    counts: list[int] = []
    low = point.zero_count + sum(point.negative_counts)
    if low:
        bounds.append(exponential_bound(point.positive_offset - 1, point.scale))
        counts.append(low)
    for k, count in enumerate(point.positive_counts):
        bounds.append(exponential_bound(point.positive_offset + k, point.scale))
        counts.append(count)
    counts.append(0)  # +Inf: every value falls in some exponential bucket
    return bounds, counts


def _downscale(offset: int, counts: list[int], by: int) -> tuple[int, list[int]]:
    if by == 0 or not counts:
        return offset, list(counts)
    first = offset >> by
    out = [0] * (((offset + len(counts) - 1) >> by) - first + 1)
    for k, count in enumerate(counts):
        out[((offset + k) >> by) - first] += count
    return first, out


def _add(a_off: int, a: list[int], b_off: int, b: list[int]) -> tuple[int, list[int]]:
    if not a:
        return b_off, list(b)
    if not b:
        return a_off, list(a)
    start, end = min(a_off, b_off), max(a_off + len(a), b_off + len(b))
    out = [0] * (end - start)
    for off, counts in ((a_off, a), (b_off, b)):
        for k, count in enumerate(counts):
            out[off - start + k] += count
    return start, out


def merge_exponential(old: ExponentialHistogramPoint, new: ExponentialHistogramPoint) -> ExponentialHistogramPoint:
    """old + new (a delta added to a running total), at the coarser of the two scales."""
    scale = min(old.scale, new.scale)
    pos = _add(
        *_downscale(old.positive_offset, old.positive_counts, old.scale - scale),
        *_downscale(new.positive_offset, new.positive_counts, new.scale - scale),
    )
    neg = _add(
        *_downscale(old.negative_offset, old.negative_counts, old.scale - scale),
        *_downscale(new.negative_offset, new.negative_counts, new.scale - scale),
    )
    mins = [v for v in (old.min, new.min) if v is not None]
    maxs = [v for v in (old.max, new.max) if v is not None]
    return ExponentialHistogramPoint(
        attributes=new.attributes,
        scale=scale,
        zero_count=old.zero_count + new.zero_count,
        positive_offset=pos[0],
        positive_counts=pos[1],
        sum=old.sum + new.sum,
        start_time_ns=old.start_time_ns,
        time_ns=new.time_ns,
        negative_offset=neg[0],
        negative_counts=neg[1],
        min=min(mins) if mins else None,
        max=max(maxs) if maxs else None,
    )
