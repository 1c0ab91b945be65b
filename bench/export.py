"""Benchmark: 100 000 datapoints sent over OTLP/HTTP to a loopback receiver.

Ours: a MetricBatch (counters and explicit-bucket histograms with k8s attributes)
encoded by collector.otlp and sent by the `otlp` exporter. Baseline, same run: the
same data as OpenTelemetry SDK `MetricsData`, sent with the SDK's OTLP/HTTP
exporter (opentelemetry-exporter-otlp-proto-http). Both start from data already
built in memory and stop when the receiver has answered. The receiver runs in its
own process and decodes every request with the official protobuf types, so both
sides are checked to deliver all datapoints.

Round 1 is a cold start; later rounds are the steady state of a DaemonSet that
exports the same series every interval (our attribute cache is warm).

    .venv/bin/python -m bench.export [--series 25000] [--rounds 5] [--compression none|gzip]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

from collector.component import ComponentContext, ComponentId
from collector.model import HistogramPoint, Metric, MetricBatch, MetricKind, NumberPoint
from collector.telemetry import Telemetry
from exporters.otlp.config import OtlpConfig
from exporters.otlp.exporter import OtlpExporter
from tests.conftest import free_port

TARGET = 3.0
BOUNDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
COUNTERS = ("k8s_syscalls_total", "k8s_open_calls_total")
HISTOGRAMS = ("k8s_runq_latency_seconds", "k8s_block_io_latency_seconds")

RECEIVER = r"""
import sys
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest, ExportMetricsServiceResponse)
total = 0
async def export(request):
    global total
    req = ExportMetricsServiceRequest.FromString(await request.read())
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                total += len(getattr(m, m.WhichOneof("data")).data_points)
    return web.Response(body=ExportMetricsServiceResponse().SerializeToString(), content_type="application/x-protobuf")
async def count(request):
    global total
    n, total = total, 0
    return web.Response(text=str(n))
app = web.Application(client_max_size=1 << 30)
app.router.add_post("/v1/metrics", export)
app.router.add_get("/count", count)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def k8s_attributes(i: int) -> dict[str, str]:
    return {
        "k8s.namespace.name": f"team-{i % 17}",
        "k8s.pod.name": f"shop-{i % 997}-{i // 997}",
        "k8s.container.name": ("app", "sidecar", "proxy")[i % 3],
        "k8s.node.name": "node-7",
        "k8s.deployment.name": f"shop-{i % 97}",
        "cpu": str(i % 8),
    }


def ours(series: int, t0: int) -> MetricBatch:
    attrs = [k8s_attributes(i) for i in range(series)]
    metrics = [
        Metric(name, MetricKind.SUM, [NumberPoint(a, i * 3, t0, t0 + 1) for i, a in enumerate(attrs)], monotonic=True)
        for name in COUNTERS
    ]
    counts = [1, 2, 4, 8, 16, 8, 4, 2, 1, 0, 1]
    metrics += [
        Metric(
            name,
            MetricKind.HISTOGRAM,
            [HistogramPoint(a, BOUNDS, list(counts), 12.5, t0, t0 + 1, 0.0005, 3.0) for a in attrs],
            unit="s",
        )
        for name in HISTOGRAMS
    ]
    return MetricBatch(metrics, resource={"service.name": "ebpf-collector", "k8s.node.name": "node-7"})  # type: ignore[arg-type]


def sdk(series: int, t0: int) -> Any:
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Histogram,
        HistogramDataPoint,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.metrics.export import (
        Metric as SdkMetric,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    cumulative = AggregationTemporality.CUMULATIVE
    attrs = [k8s_attributes(i) for i in range(series)]
    counts = [1, 2, 4, 8, 16, 8, 4, 2, 1, 0, 1]
    metrics = [
        SdkMetric(
            name, "", "", Sum([NumberDataPoint(a, t0, t0 + 1, i * 3) for i, a in enumerate(attrs)], cumulative, True)
        )
        for name in COUNTERS
    ]
    metrics += [
        SdkMetric(
            name,
            "",
            "s",
            Histogram(
                [
                    HistogramDataPoint(a, t0, t0 + 1, sum(counts), 12.5, list(counts), list(BOUNDS), 0.0005, 3.0)
                    for a in attrs
                ],
                cumulative,
            ),
        )
        for name in HISTOGRAMS
    ]
    resource = Resource({"service.name": "ebpf-collector", "k8s.node.name": "node-7"})
    scope = InstrumentationScope("ebpf-collector")
    return MetricsData([ResourceMetrics(resource, [ScopeMetrics(scope, metrics, "")], "")])


def received(base: str) -> int:
    with urllib.request.urlopen(base + "/count") as resp:
        return int(resp.read())


Timings = tuple[list[float], list[float]]  # wall seconds, CPU seconds of this process


async def run_ours(base: str, batch: MetricBatch, rounds: int, compression: str) -> Timings:
    config = OtlpConfig.model_validate({"protocol": "http", "endpoint": base, "compression": compression})
    exporter = OtlpExporter(config, ComponentContext(ComponentId("otlp"), "exporter", Telemetry()))
    await exporter.start()
    assert exporter.queue is not None
    times, cpu = [], []
    for _ in range(rounds):
        start, cpu0 = time.perf_counter(), time.process_time()
        await exporter.export_signal("metrics", batch)
        await exporter.queue.wait_empty()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu0)
        assert received(base) == batch.datapoint_count(), "the receiver did not get every datapoint"
    await exporter.shutdown()
    return times, cpu


def run_sdk(base: str, data: Any, points: int, rounds: int, compression: str) -> Timings:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import MetricExportResult

    mode = Compression.Gzip if compression == "gzip" else Compression.NoCompression
    exporter = OTLPMetricExporter(endpoint=base + "/v1/metrics", compression=mode, timeout=60)
    times, cpu = [], []
    for _ in range(rounds):
        start, cpu0 = time.perf_counter(), time.process_time()
        result = exporter.export(data)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu0)
        assert result == MetricExportResult.SUCCESS and received(base) == points, "the SDK did not deliver"
    exporter.shutdown()
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=25_000, help="series per metric (4 metrics)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compression", choices=["none", "gzip"], default="none")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])
    try:
        for _ in range(200):
            try:
                received(base)
                break
            except OSError:
                time.sleep(0.05)
        t0 = time.time_ns()
        batch, data = ours(args.series, t0), sdk(args.series, t0)
        points = batch.datapoint_count()
        print(f"{points} datapoints ({args.series} series x {len(COUNTERS)} counters + {len(HISTOGRAMS)} histograms, "
              f"6 k8s attributes each), OTLP/HTTP to a loopback receiver, compression {args.compression}")  # fmt: skip
        theirs = run_sdk(base, data, points, args.rounds, args.compression)
        mine = asyncio.run(run_ours(base, batch, args.rounds, args.compression))
    finally:
        receiver.terminate()
        receiver.wait()

    def med(t: list[float]) -> float:
        return statistics.median(t[1:] or t)

    def line(label: str, t: Timings) -> str:
        wall, cpu = t
        return (
            f"  {label:<38} first {wall[0] * 1000:7.0f} ms   steady: wall {med(wall) * 1000:6.0f} ms, "
            f"CPU {med(cpu) * 1000:6.0f} ms"
        )

    print(line("OpenTelemetry SDK OTLPMetricExporter", theirs))
    print(line("ebpf-collector otlp exporter", mine))
    first = theirs[0][0] / mine[0][0]
    steady, cpu = med(theirs[0]) / med(mine[0]), med(theirs[1]) / med(mine[1])
    print(
        f"  ratio (SDK / ours): first round {first:.2f}x, steady wall {steady:.2f}x, steady CPU {cpu:.2f}x"
        f" (target >= {TARGET:.0f}x)"
    )


if __name__ == "__main__":
    main()
