"""EventBatch -> ExportTraceServiceRequest: latency events (a block I/O request,
a slow syscall, a TCP connect) as spans with their real start and end times.

Kernel timestamps (bpf_ktime_get_ns: CLOCK_MONOTONIC) are moved to Unix time
with the clock's offset taken at encode time, so Tempo places spans on the
right timeline. Each event is its own trace; trace and span ids are random."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1 import trace_pb2 as pb
from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector.model import EventBatch
from collector.otlp.common import Clock, add_attributes, clock_offset_ns, encode_scope, render

_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_KIND = {
    "internal": pb.Span.SPAN_KIND_INTERNAL,
    "server": pb.Span.SPAN_KIND_SERVER,
    "client": pb.Span.SPAN_KIND_CLIENT,
    "producer": pb.Span.SPAN_KIND_PRODUCER,
    "consumer": pb.Span.SPAN_KIND_CONSUMER,
}


class SpanMapping(BaseModel):
    """How an event becomes a span: two of start_field, end_field, duration_field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("{source}", description="span name, with {field} placeholders; {source} is the event source")
    start_field: str | None = Field(None, description="field with the start time in ns")
    end_field: str | None = Field(None, description="field with the end time in ns")
    duration_field: str | None = Field(None, description="field with the duration, in duration_unit")
    duration_unit: Literal["ns", "us", "ms", "s"] = "ns"
    clock: Clock = Field("monotonic", description="clock of the time fields: monotonic (bpf_ktime_get_ns), boottime")
    kind: Literal["internal", "server", "client", "producer", "consumer"] = "internal"
    attributes: list[str] | None = Field(None, description="fields to send as attributes (default: all but times)")

    @model_validator(mode="after")
    def _two_times(self) -> SpanMapping:
        given = [f for f in (self.start_field, self.end_field, self.duration_field) if f]
        if len(given) < 2:
            raise ValueError("a span needs two of start_field, end_field and duration_field")
        return self

    def time_fields(self) -> set[str]:
        return {f for f in (self.start_field, self.end_field, self.duration_field) if f}


def _times(batch: EventBatch, m: SpanMapping) -> tuple[list[int], list[int]]:
    """Start and end in Unix ns for every row, vectorised."""
    offset = np.int64(clock_offset_ns(m.clock))

    def col(name: str) -> np.ndarray[Any, Any]:
        return batch.column(name).astype(np.int64)

    if m.start_field and m.end_field:
        start, end = col(m.start_field) + offset, col(m.end_field) + offset
    else:
        assert m.duration_field  # the validator guarantees two of three
        duration = col(m.duration_field) * _UNIT_NS[m.duration_unit]
        if m.start_field:
            start = col(m.start_field) + offset
            end = start + duration
        else:
            assert m.end_field
            end = col(m.end_field) + offset
            start = end - duration
    return start.tolist(), end.tolist()


def _random_ids(n: int, size: int) -> list[bytes]:
    raw = os.urandom(n * size)
    ids = [raw[i : i + size] for i in range(0, n * size, size)]
    zero = bytes(size)
    return [os.urandom(size) if x == zero else x for x in ids]  # an all-zero id is invalid


def encode_spans(
    batches: Iterable[EventBatch], mapping: SpanMapping, extra_resource: Mapping[str, Any] | None = None
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    kind = _KIND[mapping.kind]
    skip = mapping.time_fields()
    for batch in batches:
        n = len(batch)
        if not n:
            continue
        missing = [f for f in mapping.time_fields() if f not in batch.field_names()]
        if missing:
            raise ValueError(f"events from {batch.source!r} have no field {', '.join(missing)} (traces mapping)")
        rs = request.resource_spans.add()
        add_attributes(rs.resource.attributes, {**(extra_resource or {}), **batch.resource}.items())
        ss = rs.scope_spans.add()
        ss.scope.CopyFrom(encode_scope())
        starts, ends = _times(batch, mapping)
        trace_ids, span_ids = _random_ids(n, 16), _random_ids(n, 8)
        add = ss.spans.add
        for i, row in enumerate(batch.rows()):
            span = add()
            span.trace_id = trace_ids[i]
            span.span_id = span_ids[i]
            span.name = render(mapping.name, {"source": batch.source, **row})
            span.kind = kind
            span.start_time_unix_nano = starts[i]
            span.end_time_unix_nano = ends[i]
            if mapping.attributes is None:
                fields: Iterable[tuple[str, Any]] = ((k, v) for k, v in row.items() if k not in skip)
            else:
                fields = ((k, row[k]) for k in mapping.attributes if k in row)
            add_attributes(span.attributes, fields)
    return request
