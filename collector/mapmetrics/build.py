"""Decoded map entries -> OpenTelemetry metric points, as ebpf_exporter builds them.

Counters: one cumulative monotonic sum per distinct label set (entries that
decode to the same labels are added up). Histograms: entries grouped by every
label but the last (the bucket key), every bucket in range backfilled, bounds
from `bucket_type`. Entries below the range count in the first bucket and
above it in +Inf, so the count stays the total number of events."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from collector.mapmetrics.spec import HistogramSpec
from collector.model import HistogramPoint, NumberPoint

Array = np.ndarray[Any, Any]
Labels = tuple[str, ...]


def counter_points(
    names: Sequence[str], rows: Sequence[Labels], values: Array, start_ns: int, now_ns: int
) -> list[NumberPoint]:
    totals: dict[Labels, int | float] = {}
    for row, value in zip(rows, values.tolist(), strict=True):
        totals[row] = totals.get(row, 0) + value
    return [NumberPoint(dict(zip(names, row, strict=True)), v, start_ns, now_ns) for row, v in totals.items()]


def bucket_layout(spec: HistogramSpec) -> tuple[list[int], tuple[float, ...], int]:
    """(bucket keys in order, upper bound of each, sum key)."""
    m = spec.bucket_multiplier
    if spec.bucket_type == "fixed":
        keys = [int(k) for k in spec.bucket_keys]
        return keys, tuple(k * m for k in spec.bucket_keys), keys[-1] + 1
    keys = list(range(spec.bucket_min, spec.bucket_max + 1))
    if spec.bucket_type == "exp2":
        bounds = [math.ldexp(1.0, k) * m for k in keys]
    elif spec.bucket_type == "exp2zero":
        bounds = [0.0 if k == 0 else math.ldexp(1.0, k - 1) * m for k in keys]
    else:  # linear
        bounds = [k * m for k in keys]
    return keys, tuple(bounds), spec.bucket_max + 1


def histogram_points(
    spec: HistogramSpec, names: Sequence[str], rows: Sequence[Labels], values: Array, start_ns: int, now_ns: int
) -> list[HistogramPoint]:
    keys, bounds, sum_key = bucket_layout(spec)
    index = {k: i for i, k in enumerate(keys)}
    groups: dict[Labels, tuple[list[int], list[float]]] = {}
    for row, value in zip(rows, values.tolist(), strict=True):
        try:
            bucket = int(float(row[-1]))
        except ValueError:
            raise ValueError(
                f"histogram {spec.name}: the last label ({names[-1]!r}) is the bucket key and must decode "
                f"to a number (use the uint decoder), got {row[-1]!r}"
            ) from None
        counts, total = groups.setdefault(row[:-1], ([0] * (len(keys) + 1), [0.0]))
        if bucket == sum_key:
            total[0] += value * spec.bucket_multiplier
        elif bucket in index:
            counts[index[bucket]] += int(value)
        elif bucket < keys[0]:
            counts[0] += int(value)
        else:
            counts[-1] += int(value)
    label_names = names[:-1]
    return [
        HistogramPoint(dict(zip(label_names, labels, strict=True)), bounds, counts, total[0], start_ns, now_ns)
        for labels, (counts, total) in groups.items()
    ]
