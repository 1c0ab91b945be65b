"""Our data model -> the official OpenTelemetry protobuf messages (opentelemetry-proto).

Shared by every exporter that speaks OTLP: `otlp` sends the serialized requests,
and the `json` exporter can render them as OTLP-JSON with protobuf's json_format.
"""

from collector.otlp.common import any_value, encode_resource, key_values
from collector.otlp.logs import LogMapping, encode_logs
from collector.otlp.metrics import MetricEncoder, encode_metrics
from collector.otlp.traces import SpanMapping, encode_spans

__all__ = [
    "LogMapping",
    "MetricEncoder",
    "SpanMapping",
    "any_value",
    "encode_logs",
    "encode_metrics",
    "encode_resource",
    "encode_spans",
    "key_values",
]
