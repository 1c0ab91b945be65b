"""Our data model -> OTLP protobuf messages (opentelemetry-proto), for the JSON
exporter's `otlp` format: one ExportMetricsServiceRequest / ExportLogsServiceRequest
per line, in the OTLP/JSON encoding (lowerCamelCase keys, enums as integers,
64-bit integers as strings), the shape the OpenTelemetry Collector's file exporter
writes and its otlpjsonfile receiver reads.

Note for the lead: the `otlp` exporter (collector/otlp/) has its own model -> OTLP
encoder; after both land, this module can be replaced by that one."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from collector.model import (
    Attributes,
    AttrValue,
    EventBatch,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricBatch,
    MetricKind,
    NumberPoint,
    SummaryPoint,
    Temporality,
)

_TEMPORALITY = {
    Temporality.DELTA: pb.AGGREGATION_TEMPORALITY_DELTA,
    Temporality.CUMULATIVE: pb.AGGREGATION_TEMPORALITY_CUMULATIVE,
}


def any_value(value: AttrValue) -> AnyValue:
    if isinstance(value, bool):  # before int: bool is an int in Python
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def key_values(attributes: Attributes) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def _number(p: NumberPoint) -> pb.NumberDataPoint:
    point = pb.NumberDataPoint(
        attributes=key_values(p.attributes), start_time_unix_nano=p.start_time_ns, time_unix_nano=p.time_ns
    )
    if isinstance(p.value, int) and not isinstance(p.value, bool):
        point.as_int = p.value
    else:
        point.as_double = float(p.value)
    return point


def _histogram(p: HistogramPoint) -> pb.HistogramDataPoint:
    point = pb.HistogramDataPoint(
        attributes=key_values(p.attributes),
        start_time_unix_nano=p.start_time_ns,
        time_unix_nano=p.time_ns,
        count=p.count,
        sum=p.sum,
        bucket_counts=p.counts,
        explicit_bounds=p.bounds,
    )
    if p.min is not None:
        point.min = p.min
    if p.max is not None:
        point.max = p.max
    return point


def _exponential(p: ExponentialHistogramPoint) -> pb.ExponentialHistogramDataPoint:
    buckets = pb.ExponentialHistogramDataPoint.Buckets
    point = pb.ExponentialHistogramDataPoint(
        attributes=key_values(p.attributes),
        start_time_unix_nano=p.start_time_ns,
        time_unix_nano=p.time_ns,
        count=p.count,
        sum=p.sum,
        scale=p.scale,
        zero_count=p.zero_count,
        positive=buckets(offset=p.positive_offset, bucket_counts=p.positive_counts),
        negative=buckets(offset=p.negative_offset, bucket_counts=p.negative_counts),
    )
    if p.min is not None:
        point.min = p.min
    if p.max is not None:
        point.max = p.max
    return point


def _summary(p: SummaryPoint) -> pb.SummaryDataPoint:
    return pb.SummaryDataPoint(
        attributes=key_values(p.attributes),
        start_time_unix_nano=p.start_time_ns,
        time_unix_nano=p.time_ns,
        count=p.count,
        sum=p.sum,
        quantile_values=[pb.SummaryDataPoint.ValueAtQuantile(quantile=q, value=v) for q, v in p.quantiles],
    )


def metric_message(metric: Metric) -> pb.Metric:
    out = pb.Metric(name=metric.name, description=metric.description, unit=metric.unit)
    temporality = _TEMPORALITY[metric.temporality]
    points = metric.points
    if metric.kind is MetricKind.SUM:
        out.sum.CopyFrom(
            pb.Sum(
                data_points=[_number(p) for p in points if isinstance(p, NumberPoint)],
                aggregation_temporality=temporality,
                is_monotonic=metric.monotonic,
            )
        )
    elif metric.kind is MetricKind.GAUGE:
        out.gauge.CopyFrom(pb.Gauge(data_points=[_number(p) for p in points if isinstance(p, NumberPoint)]))
    elif metric.kind is MetricKind.HISTOGRAM:
        data = [_histogram(p) for p in points if isinstance(p, HistogramPoint)]
        out.histogram.CopyFrom(pb.Histogram(data_points=data, aggregation_temporality=temporality))
    elif metric.kind is MetricKind.EXPONENTIAL_HISTOGRAM:
        exp = [_exponential(p) for p in points if isinstance(p, ExponentialHistogramPoint)]
        out.exponential_histogram.CopyFrom(
            pb.ExponentialHistogram(data_points=exp, aggregation_temporality=temporality)
        )
    else:
        out.summary.CopyFrom(pb.Summary(data_points=[_summary(p) for p in points if isinstance(p, SummaryPoint)]))
    return out


def metrics_request(batch: MetricBatch) -> ExportMetricsServiceRequest:
    scope = pb.ScopeMetrics(
        scope=InstrumentationScope(name=batch.scope), metrics=[metric_message(m) for m in batch.metrics]
    )
    resource = pb.ResourceMetrics(resource=Resource(attributes=key_values(batch.resource)), scope_metrics=[scope])
    return ExportMetricsServiceRequest(resource_metrics=[resource])


def logs_request(batch: EventBatch) -> ExportLogsServiceRequest:
    """One log record per event: the event's fields as attributes, its source as the
    event name and body (so Loki and jq users see what kind of event it is)."""
    records = [
        logs_pb2.LogRecord(
            time_unix_nano=batch.time_ns,
            observed_time_unix_nano=batch.time_ns,
            event_name=batch.source,
            body=AnyValue(string_value=batch.source),
            attributes=key_values(row),
        )
        for row in batch.rows()
    ]
    scope = logs_pb2.ScopeLogs(scope=InstrumentationScope(name="ebpf-collector"), log_records=records)
    resource = logs_pb2.ResourceLogs(resource=Resource(attributes=key_values(batch.resource)), scope_logs=[scope])
    return ExportLogsServiceRequest(resource_logs=[resource])


def otlp_json_line(data: MetricBatch | EventBatch) -> str:
    """One line of OTLP/JSON (without the newline); empty when there is nothing to write."""
    if len(data) == 0:
        return ""
    message = metrics_request(data) if isinstance(data, MetricBatch) else logs_request(data)
    as_dict: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=True)
    return json.dumps(as_dict, separators=(",", ":"))
