"""EventBatch -> ExportLogsServiceRequest: one LogRecord per kernel event.

The event's fields become log attributes and the batch's resource (k8s.pod.name,
k8s.namespace.name, ...) the resource attributes: Loki's OTLP endpoint turns the
well-known resource attributes into stream labels and the rest into structured
metadata, so records stay filterable by namespace and pod."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1 import logs_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field

from collector.model import EventBatch
from collector.otlp.common import Clock, add_attributes, encode_scope, render, set_value, wall_clock_ns

Severity = Literal["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


class LogMapping(BaseModel):
    """How an event becomes a log record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: str | None = Field(
        None,
        description="the log line, with {field} placeholders (e.g. '{comm} opened {filename}'); "
        "default: the event's fields as key=value pairs",
    )
    time_field: str | None = Field(None, description="field with the event's time in ns (default: when read)")
    clock: Clock = Field(
        "monotonic", description="clock of time_field: monotonic (bpf_ktime_get_ns), boottime, realtime"
    )
    severity: Severity = "INFO"
    attributes: list[str] | None = Field(None, description="fields to send as attributes (default: all)")


def logfmt(row: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={_quote(v)}" for k, v in row.items())


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\\'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def encode_logs(
    batches: Iterable[EventBatch], mapping: LogMapping, extra_resource: Mapping[str, Any] | None = None
) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    severity_number = pb.SeverityNumber.Value(f"SEVERITY_NUMBER_{mapping.severity}")
    for batch in batches:
        if not len(batch):
            continue
        rl = request.resource_logs.add()
        add_attributes(rl.resource.attributes, {**(extra_resource or {}), **batch.resource}.items())
        sl = rl.scope_logs.add()
        sl.scope.CopyFrom(encode_scope())
        times: list[int] | None = None
        if mapping.time_field is not None and mapping.time_field in batch.field_names():
            times = wall_clock_ns(batch.column(mapping.time_field), mapping.clock)
        add = sl.log_records.add
        for i, row in enumerate(batch.rows()):
            record = add()
            record.time_unix_nano = times[i] if times is not None else batch.time_ns
            record.observed_time_unix_nano = batch.time_ns
            record.severity_number = severity_number
            record.severity_text = mapping.severity
            record.event_name = batch.source
            set_value(record.body, render(mapping.body, row) if mapping.body is not None else logfmt(row))
            fields = (
                row.items() if mapping.attributes is None else ((k, row[k]) for k in mapping.attributes if k in row)
            )
            add_attributes(record.attributes, fields)
    return request
