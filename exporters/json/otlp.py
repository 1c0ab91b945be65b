"""OTLP/JSON lines: the shared OTLP encoder (collector/otlp) rendered with protobuf's
json_format, one export request per line, the shape the OpenTelemetry Collector's
file exporter writes and OTel tools read."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format

from collector.model import EventBatch, MetricBatch
from collector.otlp import LogMapping, encode_logs, encode_metrics

_LOGS = LogMapping()


def otlp_json_line(data: MetricBatch | EventBatch) -> str:
    """One line of OTLP/JSON (without the newline); empty when there is nothing to write."""
    if len(data) == 0:
        return ""
    message = encode_metrics(data) if isinstance(data, MetricBatch) else encode_logs([data], _LOGS)
    as_dict: dict[str, Any] = json_format.MessageToDict(message, use_integers_for_enums=True)
    return json.dumps(as_dict, separators=(",", ":"))
