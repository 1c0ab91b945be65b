"""The data that flows through pipelines: metrics, and kernel events as columns."""

from collector.model.events import EventBatch
from collector.model.metrics import (
    Attributes,
    AttrValue,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricBatch,
    MetricKind,
    NumberPoint,
    Point,
    SummaryPoint,
    Temporality,
    now_ns,
)

Signal = str  # "metrics" | "logs" | "traces"
SIGNALS: tuple[Signal, ...] = ("metrics", "logs", "traces")

# What travels between components: a batch of metrics, or a batch of events
# (logs and traces pipelines carry events; each row is one record/span).
Data = MetricBatch | EventBatch

__all__ = [
    "SIGNALS",
    "AttrValue",
    "Attributes",
    "Data",
    "EventBatch",
    "ExponentialHistogramPoint",
    "HistogramPoint",
    "Metric",
    "MetricBatch",
    "MetricKind",
    "NumberPoint",
    "Point",
    "Signal",
    "SummaryPoint",
    "Temporality",
    "now_ns",
]
