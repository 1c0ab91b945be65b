"""Folding several series into one without breaking totals.

For cumulative input, each folded source series contributes its *increment*
since its last point (or its whole value when it is new or was reset), so the
target series only ever grows; for delta input the points are simply added."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np

from collector.model import (
    Attributes,
    ExponentialHistogramPoint,
    HistogramPoint,
    NumberPoint,
    Point,
    SummaryPoint,
)
from collector.model import buckets as bk

MAX_EXP_BUCKETS = 160


class Incompatible(ValueError):
    """Points that cannot be merged (different histogram bounds, different kinds)."""


_NO_ATTRIBUTES: Attributes = MappingProxyType({})


def snapshot(point: Point) -> Point:
    """The point without its attributes (one shared empty mapping): what the ledger
    keeps per folded series."""
    return dataclasses.replace(point, attributes=_NO_ATTRIBUTES)


def increment(new: Point, old: Point | None) -> Point:
    """What `new` adds since `old` (same series, cumulative). A series that is new,
    restarted (different start time) or went down counts in full."""
    if old is None or type(old) is not type(new) or old.start_time_ns != new.start_time_ns:
        return new
    if isinstance(new, NumberPoint) and isinstance(old, NumberPoint):
        diff = new.value - old.value
        return new if diff < 0 else dataclasses.replace(new, value=diff)
    if isinstance(new, HistogramPoint) and isinstance(old, HistogramPoint):
        if new.bounds != old.bounds:
            return new
        counts = [a - b for a, b in zip(new.counts, old.counts, strict=True)]
        if min(counts) < 0:
            return new
        return dataclasses.replace(new, counts=counts, sum=new.sum - old.sum)
    if isinstance(new, ExponentialHistogramPoint) and isinstance(old, ExponentialHistogramPoint):
        exp_diff = _exp_combine(new, old, -1)
        return new if exp_diff is None else exp_diff
    if isinstance(new, SummaryPoint) and isinstance(old, SummaryPoint):
        if new.count < old.count:
            return new
        return dataclasses.replace(new, count=new.count - old.count, sum=new.sum - old.sum, quantiles=[])
    return new


def accumulate(total: Point | None, inc: Point, attributes: Attributes, start_ns: int, gauge: bool) -> Point:
    """Add an increment into a target series' point (a gauge keeps the latest value)."""
    if total is None or gauge:
        out = dataclasses.replace(inc, attributes=attributes, start_time_ns=start_ns)
        return dataclasses.replace(out, quantiles=[]) if isinstance(out, SummaryPoint) else out
    if type(total) is not type(inc):
        raise Incompatible(f"cannot fold a {type(inc).__name__} into a {type(total).__name__}")
    time_ns = max(total.time_ns, inc.time_ns)
    if isinstance(total, NumberPoint) and isinstance(inc, NumberPoint):
        return NumberPoint(attributes, total.value + inc.value, start_ns, time_ns)
    if isinstance(total, HistogramPoint) and isinstance(inc, HistogramPoint):
        if total.bounds != inc.bounds:
            raise Incompatible("histogram bounds differ between series of one metric")
        counts = [a + b for a, b in zip(total.counts, inc.counts, strict=True)]
        low, high = _min(total.min, inc.min), _max(total.max, inc.max)
        return HistogramPoint(attributes, total.bounds, counts, total.sum + inc.sum, start_ns, time_ns, low, high)
    if isinstance(total, ExponentialHistogramPoint) and isinstance(inc, ExponentialHistogramPoint):
        merged = _exp_combine(total, inc, 1)
        assert merged is not None
        return dataclasses.replace(merged, attributes=attributes, start_time_ns=start_ns, time_ns=time_ns)
    if isinstance(total, SummaryPoint) and isinstance(inc, SummaryPoint):
        return SummaryPoint(attributes, [], total.sum + inc.sum, total.count + inc.count, start_ns, time_ns)
    raise Incompatible(f"cannot fold {type(inc).__name__} points")


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _exp_combine(
    a: ExponentialHistogramPoint, b: ExponentialHistogramPoint, sign: int
) -> ExponentialHistogramPoint | None:
    """a + b (sign 1) or a - b (sign -1, None if any bucket would go negative), at
    the lower of the two scales, downscaled further to fit MAX_EXP_BUCKETS."""
    scale = min(a.scale, b.scale)
    sides: list[tuple[int, np.ndarray]] = []
    for a_off, a_counts, b_off, b_counts in (
        (a.positive_offset, a.positive_counts, b.positive_offset, b.positive_counts),
        (a.negative_offset, a.negative_counts, b.negative_offset, b.negative_counts),
    ):
        ao, ac = bk.downscale_counts(a_off, np.asarray(a_counts, dtype=np.int64), a.scale - scale)
        bo, bc = bk.downscale_counts(b_off, np.asarray(b_counts, dtype=np.int64), b.scale - scale)
        off, counts = bk.add_counts(ao, ac, bo, sign * bc)
        if sign < 0 and len(counts) and counts.min() < 0:
            return None
        sides.append((off, counts))
    shift = max((bk.downscale_needed(off, off + len(c) - 1, MAX_EXP_BUCKETS) for off, c in sides if len(c)), default=0)
    sides = [bk.downscale_counts(off, c, shift) for off, c in sides]
    zero = a.zero_count + sign * b.zero_count
    if zero < 0:
        return None
    (p_off, p_counts), (n_off, n_counts) = sides
    return ExponentialHistogramPoint(
        a.attributes,
        scale - shift,
        zero,
        p_off,
        p_counts.tolist(),
        a.sum + sign * b.sum,
        a.start_time_ns,
        a.time_ns,
        n_off,
        n_counts.tolist(),
        _min(a.min, b.min) if sign > 0 else a.min,
        _max(a.max, b.max) if sign > 0 else a.max,
    )
