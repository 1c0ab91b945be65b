"""The `prometheus` pull endpoint: checked by `promtool check metrics`, a strict
OpenMetrics parser, and a real Prometheus server scraping it."""

from __future__ import annotations

import asyncio
import math
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from collector.component import ComponentContext, ComponentId
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
from collector.telemetry import Telemetry
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.exporter import PrometheusExporter
from tests.conftest import free_port, require_tool
from tests.prometheus_server import PrometheusServer

PROMETHEUS_ACCEPT = (  # what Prometheus 2.42 sends
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
RESOURCE = {"host.name": "node1", "k8s.node.name": "n1"}


def sample_batch(t: int | None = None) -> MetricBatch:
    t = t or time.time_ns()
    pod = {"k8s.pod.name": "web-1", "k8s.namespace.name": "shop"}
    odd = {"path": 'C:\\dir "quoted"\nnext line'}  # every character that needs escaping
    return MetricBatch(
        [
            Metric("http.requests", MetricKind.SUM, [NumberPoint(pod, 42, t, t)], "Requests served", "", True),
            Metric("memory.usage", MetricKind.GAUGE, [NumberPoint(pod, 1024.5, t, t)], "Memory in use", "By"),
            Metric("odd.values", MetricKind.GAUGE, [NumberPoint(odd, math.nan, t, t)], 'Help with \\ and "'),
            Metric(
                "request.latency",
                MetricKind.HISTOGRAM,
                [HistogramPoint(pod, (0.1, 1.0, 10.0), [1, 2, 3, 4], 50.5, t, t)],
                "Request latency",
                "s",
            ),
            Metric(
                "block.io.latency",
                MetricKind.EXPONENTIAL_HISTOGRAM,
                # zero bucket 2; bucket 2 = (4, 8] holds 1; bucket 3 = (8, 16] holds 3
                [ExponentialHistogramPoint(pod, 0, 2, 2, [1, 3], 40.0, t, t)],
                "Block I/O latency",
                "s",
            ),
            Metric(
                "runq.latency",
                MetricKind.SUMMARY,
                [SummaryPoint(pod, [(0.0, 1.0), (0.5, 7.0), (1.0, 20.0)], 90.0, 9, t, t)],
                "Run queue latency",
                "s",
            ),
        ],
        resource=RESOURCE,
    )


async def started(**config: Any) -> PrometheusExporter:
    cfg = PrometheusConfig.model_validate({"endpoint": "127.0.0.1:0", **config})
    exporter = PrometheusExporter(cfg, ComponentContext(ComponentId("prometheus"), "exporter", Telemetry()))
    await exporter.start()
    return exporter


@pytest.fixture
async def exporter() -> AsyncIterator[PrometheusExporter]:
    exp = await started()
    yield exp
    await exp.shutdown()


async def scrape(exporter: PrometheusExporter, accept: str | None = None) -> tuple[str, str]:
    headers = {"Accept": accept} if accept else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{exporter.port}/metrics", headers=headers) as resp,
    ):
        assert resp.status == 200
        return resp.headers["Content-Type"], await resp.text()


async def test_text_format_passes_promtool(exporter: PrometheusExporter) -> None:
    await exporter.export(sample_batch())
    content_type, body = await scrape(exporter)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    promtool = require_tool("promtool")
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True)
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), body
    assert 'odd_values{path="C:\\\\dir \\"quoted\\"\\nnext line"} NaN' in body
    assert "# TYPE target_info gauge\n" in body
    assert 'target_info{host_name="node1",k8s_node_name="n1"} 1\n' in body


async def test_openmetrics_by_content_negotiation(exporter: PrometheusExporter) -> None:
    await exporter.export(sample_batch())
    content_type, body = await scrape(exporter, PROMETHEUS_ACCEPT)
    assert content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert body.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(body)}  # strict: raises on any violation
    assert families["target"].type == "info"
    assert families["http_requests"].type == "counter"
    assert [s.value for s in families["http_requests"].samples if s.name == "http_requests_total"] == [42]
    assert families["odd_values"].documentation == 'Help with \\ and "'
    assert families["request_latency_seconds"].type == "histogram"
    # A client preferring the text format gets it.
    content_type, _ = await scrape(exporter, "text/plain;version=0.0.4,application/openmetrics-text;q=0.5")
    assert content_type.startswith("text/plain")


async def test_openmetrics_can_be_disabled() -> None:
    exporter = await started(enable_open_metrics=False)
    try:
        content_type, body = await scrape(exporter, PROMETHEUS_ACCEPT)
        assert content_type.startswith("text/plain") and "# EOF" not in body
    finally:
        await exporter.shutdown()


async def test_series_not_updated_expire() -> None:
    exporter = await started(metric_expiration="100ms", self_telemetry=False)
    try:
        await exporter.export(sample_batch())
        _, body = await scrape(exporter)
        assert "http_requests_total" in body and "target_info" in body
        await asyncio.sleep(0.3)  # longer than the expiration, so the outcome does not depend on speed
        _, body = await scrape(exporter)
        assert body == ""
    finally:
        await exporter.shutdown()


async def test_resource_attributes_copied_onto_series() -> None:
    exporter = await started(resource_to_telemetry_conversion=True, self_telemetry=False)
    try:
        await exporter.export(sample_batch())
        _, body = await scrape(exporter)
        assert "target_info" not in body
        assert (
            'http_requests_total{host_name="node1",k8s_namespace_name="shop",k8s_node_name="n1",'
            'k8s_pod_name="web-1"} 42\n' in body
        )
    finally:
        await exporter.shutdown()


async def test_delta_points_accumulate(exporter: PrometheusExporter) -> None:
    def delta(value: int) -> MetricBatch:
        points = [NumberPoint({"comm": "bash"}, value, 0, time.time_ns())]
        return MetricBatch([Metric("exec", MetricKind.SUM, points, "Execs", "", True, Temporality.DELTA)])

    for value in (3, 4, 5):
        await exporter.export(delta(value))
    _, body = await scrape(exporter)
    assert 'exec_total{comm="bash"} 12\n' in body


async def test_real_prometheus_scrapes_both_formats(tmp_path: Path) -> None:
    openmetrics = await started(endpoint=f"127.0.0.1:{free_port()}")
    text = await started(endpoint=f"127.0.0.1:{free_port()}", enable_open_metrics=False)
    targets = [f"127.0.0.1:{openmetrics.port}", f"127.0.0.1:{text.port}"]
    server = PrometheusServer(tmp_path, scrape_targets=targets)
    await asyncio.to_thread(server.start)
    try:
        for exporter in (openmetrics, text):
            exporter.ctx.telemetry.counter("test_events", "Events seen").add(3)
            await exporter.export(sample_batch())
        for target in targets:
            sel = f'instance="{target}",k8s_pod_name="web-1",k8s_namespace_name="shop"'
            assert await server.wait_for(f"http_requests_total{{{sel}}}"), server.query("up")
            assert server.value(f"http_requests_total{{{sel}}}") == 42
            assert server.value(f"memory_usage_bytes{{{sel}}}") == 1024.5
            buckets = {r[0]["le"]: r[1] for r in server.query(f"request_latency_seconds_bucket{{{sel}}}")}
            assert buckets == {"0.1": 1, "1.0": 3, "10.0": 6, "+Inf": 10}
            exp = {r[0]["le"]: r[1] for r in server.query(f"block_io_latency_seconds_bucket{{{sel}}}")}
            assert exp == {"4.0": 2, "8.0": 3, "16.0": 6, "+Inf": 6}
            assert server.value(f"block_io_latency_seconds_sum{{{sel}}}") == 40
            quantiles = {r[0]["quantile"]: r[1] for r in server.query(f"runq_latency_seconds{{{sel}}}")}
            assert quantiles == {"0.0": 1, "0.5": 7, "1.0": 20}
            assert server.value(f'target_info{{instance="{target}",host_name="node1"}}') == 1
            assert server.value(f'up{{instance="{target}"}}') == 1
            # Self-telemetry is served on the same endpoint.
            assert server.value(f'ebpf_collector_test_events_total{{instance="{target}"}}') == 3
    finally:
        await asyncio.to_thread(server.stop)
        await openmetrics.shutdown()
        await text.shutdown()
