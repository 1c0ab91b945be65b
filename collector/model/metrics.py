"""Metrics in the OpenTelemetry data model, kept as plain slotted dataclasses.

Points carry their own attributes; a Metric groups points of one kind under one
name. Exporters derive series identity from (metric name, sorted attributes).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

AttrValue = str | int | float | bool
Attributes = Mapping[str, AttrValue]


def now_ns() -> int:
    return time.time_ns()


class MetricKind(enum.Enum):
    SUM = "sum"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    EXPONENTIAL_HISTOGRAM = "exponential_histogram"
    SUMMARY = "summary"


class Temporality(enum.Enum):
    DELTA = "delta"
    CUMULATIVE = "cumulative"


@dataclass(slots=True)
class NumberPoint:
    attributes: Attributes
    value: float | int
    start_time_ns: int
    time_ns: int


@dataclass(slots=True)
class HistogramPoint:
    """Explicit-bucket histogram: counts[i] counts values in (bounds[i-1], bounds[i]];
    the last count is the +Inf bucket, so len(counts) == len(bounds) + 1."""

    attributes: Attributes
    bounds: tuple[float, ...]
    counts: list[int]
    sum: float
    start_time_ns: int
    time_ns: int
    min: float | None = None
    max: float | None = None

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass(slots=True)
class ExponentialHistogramPoint:
    """OTel exponential histogram: bucket index i covers (base**i, base**(i+1)],
    base = 2**(2**-scale). positive_counts[k] is the bucket at positive_offset + k."""

    attributes: Attributes
    scale: int
    zero_count: int
    positive_offset: int
    positive_counts: list[int]
    sum: float
    start_time_ns: int
    time_ns: int
    negative_offset: int = 0
    negative_counts: list[int] = field(default_factory=list)
    min: float | None = None
    max: float | None = None

    @property
    def count(self) -> int:
        return self.zero_count + sum(self.positive_counts) + sum(self.negative_counts)


@dataclass(slots=True)
class SummaryPoint:
    attributes: Attributes
    quantiles: list[tuple[float, float]]  # (quantile in [0, 1], value)
    sum: float
    count: int
    start_time_ns: int
    time_ns: int


Point = NumberPoint | HistogramPoint | ExponentialHistogramPoint | SummaryPoint


@dataclass(slots=True)
class Metric:
    name: str
    kind: MetricKind
    points: list[Point]
    description: str = ""
    unit: str = ""
    monotonic: bool = False  # sums only: a counter that never decreases
    temporality: Temporality = Temporality.CUMULATIVE


@dataclass(slots=True)
class MetricBatch:
    """Metrics from one resource and one instrumentation scope (OTLP ResourceMetrics)."""

    metrics: list[Metric]
    resource: dict[str, AttrValue] = field(default_factory=dict)
    scope: str = "ebpf-collector"

    def datapoint_count(self) -> int:
        return sum(len(m.points) for m in self.metrics)

    def __len__(self) -> int:
        return self.datapoint_count()
