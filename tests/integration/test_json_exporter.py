"""The `json` exporter: OTLP/JSON lines read back with the official protobuf types and
jq, and size-based rotation of files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from collector.component import ComponentContext, ComponentId
from collector.config import ConfigError, load_config_text
from collector.model import (
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
from collector.telemetry import Telemetry
from exporters.json.config import JsonConfig, parse_size
from exporters.json.exporter import JsonExporter
from tests.conftest import require_tool


def make(**config: Any) -> JsonExporter:
    return JsonExporter(
        JsonConfig.model_validate(config), ComponentContext(ComponentId("json"), "exporter", Telemetry())
    )


def metrics() -> MetricBatch:
    pod = {"k8s.pod.name": "web-1", "retransmit": True, "cpu": 3, "weight": 0.5}
    return MetricBatch(
        [
            Metric("exec.count", MetricKind.SUM, [NumberPoint(pod, 7, 100, 200)], "Execs", "{exec}", True),
            Metric("load", MetricKind.GAUGE, [NumberPoint(pod, 0.25, 100, 200)], "Load", "1"),
            Metric(
                "latency",
                MetricKind.HISTOGRAM,
                [HistogramPoint(pod, (1.0, 5.0), [1, 2, 3], 20.0, 100, 200, min=0.5, max=9.0)],
                unit="ms",
                temporality=Temporality.DELTA,
            ),
            Metric(
                "runq",
                MetricKind.EXPONENTIAL_HISTOGRAM,
                [ExponentialHistogramPoint(pod, 0, 1, 3, [4, 5], 99.0, 100, 200)],
            ),
            Metric(
                "runq.summary", MetricKind.SUMMARY, [SummaryPoint(pod, [(0.5, 3.0), (1.0, 8.0)], 30.0, 6, 100, 200)]
            ),
        ],
        resource={"host.name": "node1"},
    )


def events() -> EventBatch:
    records = np.array([(101, b"bash"), (202, b"cat")], dtype=[("pid", "<u4"), ("comm", "S16")])
    return EventBatch("exec", records, 1_700_000_000_000_000_000, {"k8s.node.name": "n1"})


async def test_otlp_json_metrics_read_back_with_official_types(tmp_path: Path) -> None:
    out = tmp_path / "metrics.jsonl"
    exporter = make(path=str(out), format="otlp")
    await exporter.start()
    await exporter.export(metrics())
    await exporter.shutdown()

    [line] = out.read_text().splitlines()
    request = json_format.Parse(line, ExportMetricsServiceRequest())
    [rm] = request.resource_metrics
    assert rm.resource.attributes[0].key == "host.name" and rm.resource.attributes[0].value.string_value == "node1"
    by_name = {m.name: m for m in rm.scope_metrics[0].metrics}
    counter = by_name["exec.count"].sum
    assert counter.is_monotonic and counter.aggregation_temporality == 2  # CUMULATIVE
    assert counter.data_points[0].as_int == 7 and counter.data_points[0].time_unix_nano == 200
    attrs = {kv.key: kv.value for kv in counter.data_points[0].attributes}
    assert attrs["retransmit"].bool_value is True and attrs["cpu"].int_value == 3
    assert attrs["weight"].double_value == 0.5 and attrs["k8s.pod.name"].string_value == "web-1"
    assert by_name["load"].gauge.data_points[0].as_double == 0.25
    hist = by_name["latency"].histogram
    assert hist.aggregation_temporality == 1  # DELTA
    assert list(hist.data_points[0].bucket_counts) == [1, 2, 3]
    assert list(hist.data_points[0].explicit_bounds) == [1.0, 5.0]
    assert (hist.data_points[0].count, hist.data_points[0].min, hist.data_points[0].max) == (6, 0.5, 9.0)
    exp = by_name["runq"].exponential_histogram.data_points[0]
    assert (exp.scale, exp.zero_count, exp.count, exp.positive.offset) == (0, 1, 10, 3)
    assert list(exp.positive.bucket_counts) == [4, 5]
    summary = by_name["runq.summary"].summary.data_points[0]
    assert [(q.quantile, q.value) for q in summary.quantile_values] == [(0.5, 3.0), (1.0, 8.0)]

    # The OTLP/JSON encoding itself: camelCase keys, 64-bit integers as strings, enums as numbers.
    raw = json.loads(line)
    point = raw["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0]
    assert point["timeUnixNano"] == "200" and point["asInt"] == "7"
    assert raw["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["aggregationTemporality"] == 2


async def test_otlp_json_events_are_log_records_that_jq_reads(tmp_path: Path) -> None:
    out = tmp_path / "logs.jsonl"
    exporter = make(path=str(out), format="otlp")
    await exporter.start()
    await exporter.export(events())
    await exporter.shutdown()

    request = json_format.Parse(out.read_text().strip(), ExportLogsServiceRequest())
    records = request.resource_logs[0].scope_logs[0].log_records
    assert [r.event_name for r in records] == ["exec", "exec"]
    assert [{kv.key: kv.value.string_value or kv.value.int_value for kv in r.attributes} for r in records] == [
        {"pid": 101, "comm": "bash"},
        {"pid": 202, "comm": "cat"},
    ]
    jq = require_tool("jq")
    query = '.resourceLogs[].scopeLogs[].logRecords[].attributes[] | select(.key=="comm") | .value.stringValue'
    result = subprocess.run([jq, "-r", query, str(out)], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["bash", "cat"]


async def test_flat_format_is_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "flat.jsonl"
    exporter = make(path=str(out))
    await exporter.start()
    await exporter.export(metrics())
    await exporter.export(events())
    await exporter.shutdown()
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 5 + 2
    assert lines[0]["metric"] == "exec.count" and lines[0]["value"] == 7
    assert lines[-1]["attributes"] == {"pid": 202, "comm": "cat"}


async def test_rotation_by_size_keeps_whole_lines_and_max_backups(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    exporter = make(path=str(out), rotation={"max_size": "1KiB", "max_backups": 2})
    await exporter.start()
    written = []
    for i in range(200):
        batch = events()
        batch.records["pid"] = [i * 2, i * 2 + 1]
        written += [i * 2, i * 2 + 1]
        await exporter.export(batch)
    await exporter.shutdown()

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    kept: list[int] = []
    for name in ("events.jsonl.2", "events.jsonl.1", "events.jsonl"):  # oldest first
        path = tmp_path / name
        assert path.stat().st_size <= 1024
        kept += [json.loads(line)["attributes"]["pid"] for line in path.read_text().splitlines()]
    # The kept files hold the newest lines, complete and in order.
    assert kept == written[-len(kept) :]
    assert len(kept) > 2 * 1024 // 150


async def test_rotation_continues_an_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    out.write_text('{"old": true}\n' * 60)  # 840 bytes already there
    exporter = make(path=str(out), rotation={"max_size": 1000, "max_backups": 1})
    await exporter.start()
    await exporter.export(events())
    await exporter.shutdown()
    assert (tmp_path / "m.jsonl.1").read_text() == '{"old": true}\n' * 60
    assert len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize(
    ("text", "size"),
    [(1000, 1000), ("512KiB", 512 * 1024), ("100MiB", 100 * 1024**2), ("1GB", 10**9), ("10 kb", 10**4)],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


def test_config_errors_are_clear() -> None:
    text = """
receivers:
  ebpf_maps: {programs: [runqlat]}
exporters:
  json:
    path: stdout
    format: protobuf
    rotation: {max_size: lots}
service:
  pipelines:
    metrics: {receivers: [ebpf_maps], exporters: [json]}
"""
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "p.yaml")
    message = str(info.value)
    assert "p.yaml:7:" in message and "format" in message and "'flat' or 'otlp'" in message
    assert "p.yaml:8:" in message and "expected a size like" in message
