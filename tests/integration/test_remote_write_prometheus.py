"""prometheus_remote_write against a real Prometheus server (remote-write receiver
enabled), every value read back through Prometheus' query API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
from exporters.prometheus_remote_write.config import RemoteWriteConfig
from exporters.prometheus_remote_write.exporter import RemoteWriteExporter
from tests.prometheus_server import PrometheusServer

RESOURCE = {"service.name": "api", "service.namespace": "shop", "service.instance.id": "i-1", "host.name": "node1"}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("prom-rw"), remote_write_receiver=True).start()
    yield server
    server.stop()


def make_exporter(prometheus: PrometheusServer, **config: Any) -> RemoteWriteExporter:
    cfg = RemoteWriteConfig.model_validate({"endpoint": f"{prometheus.url}/api/v1/write", **config})
    return RemoteWriteExporter(cfg, ComponentContext(ComponentId("prometheus_remote_write"), "exporter", Telemetry()))


def batch(run: str, t: int, resource: dict[str, Any] | None = None) -> MetricBatch:
    attrs = {"k8s.pod.name": "web-1", "run": run}
    return MetricBatch(
        [
            Metric("http.requests", MetricKind.SUM, [NumberPoint(attrs, 42, t - 10**9, t)], "Requests", "", True),
            Metric("memory.usage", MetricKind.GAUGE, [NumberPoint(attrs, 1024.5, t, t)], "Memory", "By"),
            Metric(
                "request.latency",
                MetricKind.HISTOGRAM,
                [HistogramPoint(attrs, (0.1, 1.0, 10.0), [1, 2, 3, 4], 50.5, t - 10**9, t)],
                "Latency",
                "s",
            ),
            Metric(
                "runq.latency",
                MetricKind.EXPONENTIAL_HISTOGRAM,
                # zero bucket 2; bucket 2 = (4, 8] holds 1; bucket 3 = (8, 16] holds 3
                [ExponentialHistogramPoint(attrs, 0, 2, 2, [1, 3], 40.0, t - 10**9, t)],
                "Run queue latency",
                "us",
            ),
            Metric(
                "runq",
                MetricKind.SUMMARY,
                [SummaryPoint(attrs, [(0.0, 1.0), (0.5, 7.0), (1.0, 20.0)], 90.0, 9, t - 10**9, t)],
                unit="us",
            ),
        ],
        resource=RESOURCE if resource is None else resource,
    )


async def send(exporter: RemoteWriteExporter, *batches: MetricBatch) -> None:
    await exporter.start()
    try:
        for b in batches:
            await exporter.export(b)
        assert await exporter.flush(30)
    finally:
        await exporter.shutdown()


async def test_every_kind_lands_with_exact_values(prometheus: PrometheusServer) -> None:
    exporter = make_exporter(prometheus, external_labels={"cluster": "eu-1"})
    await send(exporter, batch("kinds", time.time_ns()))
    sel = 'run="kinds",k8s_pod_name="web-1",job="shop/api",instance="i-1",cluster="eu-1"'

    assert prometheus.value(f"http_requests_total{{{sel}}}") == 42
    assert prometheus.value(f"memory_usage_bytes{{{sel}}}") == 1024.5
    buckets = {r[0]["le"]: r[1] for r in prometheus.query(f"request_latency_seconds_bucket{{{sel}}}")}
    assert buckets == {"0.1": 1, "1.0": 3, "10.0": 6, "+Inf": 10}
    assert prometheus.value(f"request_latency_seconds_sum{{{sel}}}") == 50.5
    assert prometheus.value(f"request_latency_seconds_count{{{sel}}}") == 10
    exp = {r[0]["le"]: r[1] for r in prometheus.query(f"runq_latency_microseconds_bucket{{{sel}}}")}
    assert exp == {"4.0": 2, "8.0": 3, "16.0": 6, "+Inf": 6}
    assert prometheus.value(f"runq_latency_microseconds_count{{{sel}}}") == 6
    quantiles = {r[0]["quantile"]: r[1] for r in prometheus.query(f"runq_microseconds{{{sel}}}")}
    assert quantiles == {"0.0": 1, "0.5": 7, "1.0": 20}
    assert prometheus.value(f"runq_microseconds_count{{{sel}}}") == 9
    assert prometheus.value(f"runq_microseconds_sum{{{sel}}}") == 90
    # Resource attributes other than the service identity go to target_info, not onto series.
    assert prometheus.value('target_info{job="shop/api",instance="i-1",cluster="eu-1",host_name="node1"}') == 1
    assert prometheus.query('{host_name="node1",__name__!="target_info"}') == []

    sent = exporter.ctx.telemetry.counter("remote_write_sent_samples", "")
    # 1 counter + 1 gauge + (3+3) histogram + (4+2) exp histogram + (3+2) summary + target_info
    assert sent.value(exporter="prometheus_remote_write") == 20


async def test_resource_attributes_copied_onto_series(prometheus: PrometheusServer) -> None:
    exporter = make_exporter(prometheus, resource_to_telemetry_conversion=True)
    await send(exporter, batch("copied", time.time_ns(), {"host.name": "node2", "k8s.node.name": "n2"}))
    assert prometheus.value('http_requests_total{run="copied",host_name="node2",k8s_node_name="n2"}') == 42
    assert prometheus.query('target_info{host_name="node2"}') == []


async def test_delta_sums_become_cumulative(prometheus: PrometheusServer) -> None:
    exporter = make_exporter(prometheus)
    t = time.time_ns()

    def delta(value: int, at: int) -> MetricBatch:
        point = NumberPoint({"run": "delta"}, value, at - 10**9, at)
        return MetricBatch([Metric("exec.count", MetricKind.SUM, [point], "", "", True, Temporality.DELTA)])

    await send(exporter, delta(5, t - 2 * 10**9), delta(7, t - 10**9))
    assert prometheus.value('exec_count_total{run="delta"}') == 12


async def test_batches_of_max_samples_all_arrive(prometheus: PrometheusServer) -> None:
    exporter = make_exporter(prometheus, max_samples_per_send=7)
    t = time.time_ns()
    points = [NumberPoint({"run": "many", "i": str(i)}, i, t, t) for i in range(100)]
    await send(exporter, MetricBatch([Metric("many.series", MetricKind.GAUGE, points)]))
    assert prometheus.value('count(many_series{run="many"})') == 100
    assert prometheus.value('sum(many_series{run="many"})') == sum(range(100))
    assert exporter.ctx.telemetry.counter("remote_write_retries", "").value(exporter="prometheus_remote_write") == 0


async def test_backend_down_then_back_loses_nothing(tmp_path: Path) -> None:
    server = PrometheusServer(tmp_path, remote_write_receiver=True)  # its port is chosen, not yet listening
    exporter = make_exporter(server, retry={"initial_interval": "50ms", "max_interval": "200ms"})
    await exporter.start()
    try:
        t = time.time_ns()
        for i in range(5):
            point = NumberPoint({"run": "outage"}, i + 1, t, t + i * 10**6)
            await exporter.export(MetricBatch([Metric("outage.counter", MetricKind.SUM, [point], "", "", True)]))
        assert not await exporter.flush(0.5)  # nothing listens yet: the batches wait, retried
        server.start()
        assert await exporter.flush(30)
        await exporter.shutdown()
        assert server.value('outage_counter_total{run="outage"}') == 5
        assert server.value('count_over_time(outage_counter_total{run="outage"}[5m])') == 5
        tel = exporter.ctx.telemetry
        assert tel.counter("remote_write_retries", "").value(exporter="prometheus_remote_write") > 0
        assert tel.counter("remote_write_dropped_samples", "").value(exporter="prometheus_remote_write") == 0
    finally:
        await exporter.shutdown()
        server.stop()
