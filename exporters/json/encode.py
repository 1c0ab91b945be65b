"""One JSON object per line: a datapoint, or an event. Flat and jq-friendly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from collector.model import (
    EventBatch,
    ExponentialHistogramPoint,
    HistogramPoint,
    MetricBatch,
    NumberPoint,
    SummaryPoint,
)


def metric_lines(batch: MetricBatch) -> Iterator[dict[str, Any]]:
    for metric in batch.metrics:
        for p in metric.points:
            line: dict[str, Any] = {
                "time_unix_nano": p.time_ns,
                "start_time_unix_nano": p.start_time_ns,
                "metric": metric.name,
                "type": metric.kind.value,
                "unit": metric.unit,
                "attributes": dict(p.attributes),
            }
            if metric.kind.value == "sum":
                line["monotonic"] = metric.monotonic
                line["temporality"] = metric.temporality.value
            if batch.resource:
                line["resource"] = batch.resource
            if isinstance(p, NumberPoint):
                line["value"] = p.value
            elif isinstance(p, HistogramPoint):
                line.update(count=p.count, sum=p.sum, bounds=list(p.bounds), counts=p.counts)
            elif isinstance(p, ExponentialHistogramPoint):
                line.update(
                    count=p.count,
                    sum=p.sum,
                    scale=p.scale,
                    zero_count=p.zero_count,
                    positive_offset=p.positive_offset,
                    positive_counts=p.positive_counts,
                )
            elif isinstance(p, SummaryPoint):
                line.update(count=p.count, sum=p.sum, quantiles={str(q): v for q, v in p.quantiles})
            yield line


def event_lines(batch: EventBatch) -> Iterator[dict[str, Any]]:
    for row in batch.rows():
        line: dict[str, Any] = {"time_unix_nano": batch.time_ns, "source": batch.source, "attributes": row}
        if batch.resource:
            line["resource"] = batch.resource
        yield line
