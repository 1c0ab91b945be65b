"""collector.otlp: our model as the official OTLP protobuf messages."""

from __future__ import annotations

import time

import numpy as np
import pytest

from collector.model import EventBatch, Metric, MetricBatch, MetricKind, NumberPoint
from collector.otlp import LogMapping, MetricEncoder, SpanMapping, encode_logs, encode_spans


def test_cached_attributes_keep_their_types() -> None:
    # 1, 1.0 and True are equal as Python dict keys; each must still be sent as its own type
    points = [NumberPoint({"v": v}, 1, 0, 1) for v in (1, True, 1.0, "1", 1, True)]
    encoder = MetricEncoder()
    for _ in range(2):  # cold, then from the cache
        req = encoder.encode([MetricBatch([Metric("m", MetricKind.GAUGE, points)])])  # type: ignore[arg-type]
        got = [
            p.attributes[0].value.WhichOneof("value")
            for p in req.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points
        ]
        assert got == ["int_value", "bool_value", "double_value", "string_value", "int_value", "bool_value"]


def test_the_cache_gives_the_same_bytes_as_a_cold_encoder() -> None:
    points = [NumberPoint({"pod": f"p{i % 7}", "ns": "shop", "cpu": str(i % 3)}, i, 5, 9) for i in range(50)]
    batch = MetricBatch([Metric("c", MetricKind.SUM, points, monotonic=True)])  # type: ignore[arg-type]
    warm = MetricEncoder()
    first = warm.encode([batch]).SerializeToString()
    assert warm.encode([batch]).SerializeToString() == first == MetricEncoder().encode([batch]).SerializeToString()
    tiny = MetricEncoder(cache_entries=3)  # overflowing the bound clears the cache, results stay right
    assert tiny.encode([batch]).SerializeToString() == first


def exec_events() -> EventBatch:
    dtype = np.dtype([("pid", "<u4"), ("comm", "S16"), ("args", "S32")])
    rec = np.array([(1, b"bash", b"ls -l"), (2, b"sh", b'echo "hi"')], dtype)
    return EventBatch("exec", rec, 1234, {"k8s.pod.name": "web-1"})


def test_log_body_defaults_to_the_fields_as_logfmt() -> None:
    req = encode_logs([exec_events()], LogMapping())
    records = req.resource_logs[0].scope_logs[0].log_records
    assert [r.body.string_value for r in records] == [
        'pid=1 comm=bash args="ls -l"',
        'pid=2 comm=sh args="echo \\"hi\\""',
    ]
    assert records[0].time_unix_nano == 1234 and records[0].severity_number == 9


def test_log_attributes_can_be_chosen() -> None:
    req = encode_logs([exec_events()], LogMapping(attributes=["comm", "nope"], body="{comm}: {args} {missing}"))
    record = req.resource_logs[0].scope_logs[0].log_records[0]
    assert [kv.key for kv in record.attributes] == ["comm"]
    assert record.body.string_value == "bash: ls -l {missing}"  # an unknown placeholder shows as written


def test_spans_from_end_time_and_duration_in_microseconds() -> None:
    dtype = np.dtype([("ts", "<u8"), ("lat_us", "<u4"), ("comm", "S8")])
    end = time.time_ns()
    rec = np.array([(end, 250, b"nginx")], dtype)
    mapping = SpanMapping(end_field="ts", duration_field="lat_us", duration_unit="us", clock="realtime")
    span = encode_spans([EventBatch("connect", rec, end)], mapping).resource_spans[0].scope_spans[0].spans[0]
    assert (span.start_time_unix_nano, span.end_time_unix_nano) == (end - 250_000, end)
    assert span.name == "connect" and [kv.key for kv in span.attributes] == ["comm"]


def test_spans_name_the_missing_time_field() -> None:
    mapping = SpanMapping(start_field="start_ns", end_field="end_ns")
    with pytest.raises(ValueError, match="events from 'exec' have no field"):
        encode_spans([exec_events()], mapping)
