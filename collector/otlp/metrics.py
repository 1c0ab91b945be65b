"""MetricBatch -> ExportMetricsServiceRequest (every kind, temporality and start time)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

from collector.model import (
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricBatch,
    MetricKind,
    NumberPoint,
    SummaryPoint,
    Temporality,
)
from collector.otlp.common import AttributeCache, add_attributes, encode_scope

_TEMPORALITY = {
    Temporality.DELTA: pb.AGGREGATION_TEMPORALITY_DELTA,
    Temporality.CUMULATIVE: pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
}


class MetricEncoder:
    """Encodes batches into requests; keeps an attribute cache between calls, so
    hold one per exporter. Not thread-safe."""

    def __init__(self, extra_resource: Mapping[str, Any] | None = None, cache_entries: int = 200_000) -> None:
        self.extra_resource = dict(extra_resource or {})
        self.cache = AttributeCache(cache_entries)

    def encode(self, batches: Iterable[MetricBatch]) -> ExportMetricsServiceRequest:
        request = ExportMetricsServiceRequest()
        for batch in batches:
            rm = request.resource_metrics.add()
            add_attributes(rm.resource.attributes, {**self.extra_resource, **batch.resource}.items())
            sm = rm.scope_metrics.add()
            sm.scope.CopyFrom(encode_scope(batch.scope))
            for metric in batch.metrics:
                self._metric(sm.metrics.add(), metric)
        return request

    def _metric(self, out: pb.Metric, metric: Metric) -> None:
        out.name = metric.name
        out.description = metric.description
        out.unit = metric.unit
        temporality = _TEMPORALITY[metric.temporality]
        kind = metric.kind
        # The kind says what points a metric holds, hence the casts.
        if kind is MetricKind.SUM:
            out.sum.aggregation_temporality = temporality
            out.sum.is_monotonic = metric.monotonic
            self._numbers(out.sum.data_points, cast(list[NumberPoint], metric.points))
        elif kind is MetricKind.GAUGE:
            self._numbers(out.gauge.data_points, cast(list[NumberPoint], metric.points))
        elif kind is MetricKind.HISTOGRAM:
            out.histogram.aggregation_temporality = temporality
            self._histograms(out.histogram.data_points, cast(list[HistogramPoint], metric.points))
        elif kind is MetricKind.EXPONENTIAL_HISTOGRAM:
            out.exponential_histogram.aggregation_temporality = temporality
            points = cast(list[ExponentialHistogramPoint], metric.points)
            self._exponential(out.exponential_histogram.data_points, points)
        elif kind is MetricKind.SUMMARY:
            self._summaries(out.summary.data_points, cast(list[SummaryPoint], metric.points))

    # The loops below are the hot path: one protobuf point per datapoint, attributes
    # parsed from the cache, repeated numbers extended in C.

    def _numbers(self, out: Any, points: list[NumberPoint]) -> None:
        fill, add = self.cache.fill, out.add
        for p in points:
            dp = add()
            fill(dp, p.attributes)
            dp.start_time_unix_nano = p.start_time_ns
            dp.time_unix_nano = p.time_ns
            if isinstance(p.value, float):  # numpy float64 too; ints (numpy's too) go to as_int
                dp.as_double = p.value
            else:
                dp.as_int = p.value

    def _histograms(self, out: Any, points: list[HistogramPoint]) -> None:
        fill, add = self.cache.fill, out.add
        for p in points:
            dp = add()
            fill(dp, p.attributes)
            dp.start_time_unix_nano = p.start_time_ns
            dp.time_unix_nano = p.time_ns
            dp.count = sum(p.counts)
            dp.sum = p.sum
            dp.bucket_counts.extend(p.counts)
            dp.explicit_bounds.extend(p.bounds)
            if p.min is not None:
                dp.min = p.min
            if p.max is not None:
                dp.max = p.max

    def _exponential(self, out: Any, points: list[ExponentialHistogramPoint]) -> None:
        fill, add = self.cache.fill, out.add
        for p in points:
            dp = add()
            fill(dp, p.attributes)
            dp.start_time_unix_nano = p.start_time_ns
            dp.time_unix_nano = p.time_ns
            dp.count = p.count
            dp.sum = p.sum
            dp.scale = p.scale
            dp.zero_count = p.zero_count
            dp.positive.offset = p.positive_offset
            dp.positive.bucket_counts.extend(p.positive_counts)
            if p.negative_counts:
                dp.negative.offset = p.negative_offset
                dp.negative.bucket_counts.extend(p.negative_counts)
            if p.min is not None:
                dp.min = p.min
            if p.max is not None:
                dp.max = p.max

    def _summaries(self, out: Any, points: list[SummaryPoint]) -> None:
        fill, add = self.cache.fill, out.add
        for p in points:
            dp = add()
            fill(dp, p.attributes)
            dp.start_time_unix_nano = p.start_time_ns
            dp.time_unix_nano = p.time_ns
            dp.count = p.count
            dp.sum = p.sum
            for q, v in p.quantiles:
                qv = dp.quantile_values.add()
                qv.quantile = q
                qv.value = v


def encode_metrics(batch: MetricBatch) -> ExportMetricsServiceRequest:
    """One batch as a request, without a cache kept between calls."""
    return MetricEncoder().encode([batch])
