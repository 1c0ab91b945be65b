"""Benchmark: the `prometheus` exporter serving a scrape of 100 000 series.

Target (issue 5): under 300 ms per scrape on this machine. Baseline measured in the
same run: the same series in the official Python client (prometheus_client), served
by its own HTTP server. Scrapes are made by a separate process over loopback, so
the client's work does not share the server's CPU time slice or GIL.

    .venv/bin/python -m bench.prometheus_scrape [--series 100000] [--scrapes 7]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from collector.component import ComponentContext, ComponentId
from collector.model import Metric, MetricBatch, MetricKind, NumberPoint
from collector.telemetry import Telemetry
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.exporter import PrometheusExporter

FAMILIES = 20
TARGET_MS = 300.0

# Runs in a child process: GET the URL n times, print each duration (ms) and the body size.
SCRAPER = """
import sys, time, http.client
port, n, accept = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    t = time.perf_counter()
    conn.request("GET", "/metrics", headers={"Accept": accept, "Accept-Encoding": "identity"})
    body = conn.getresponse().read()
    print((time.perf_counter() - t) * 1000, len(body), flush=True)
"""
TEXT = "text/plain;version=0.0.4"
OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def series_attributes(n: int) -> list[dict[str, str]]:
    """Realistic k8s label sets: pod, namespace, container, node, workload."""
    return [
        {
            "k8s.namespace.name": f"ns-{i % 40}",
            "k8s.pod.name": f"shop-{i % 997}-{i // 997:05d}",
            "k8s.container.name": f"c{i % 3}",
            "k8s.node.name": "node-1",
            "k8s.deployment.name": f"shop-{i % 997}",
        }
        for i in range(n)
    ]


def batches(series: int) -> list[MetricBatch]:
    attrs = series_attributes(series // FAMILIES)
    now = time.time_ns()
    metrics = []
    for f in range(FAMILIES):
        counter = f % 2 == 0
        points = [NumberPoint(a, (i * 7 + f) * (1 if counter else 0.5), now, now) for i, a in enumerate(attrs)]
        kind = MetricKind.SUM if counter else MetricKind.GAUGE
        metrics.append(Metric(f"bench.metric{f}", kind, list(points), f"Benchmark metric {f}", "By", counter))
    return [MetricBatch(metrics, resource={"host.name": "node-1"})]


def scrape(port: int, n: int, accept: str) -> tuple[list[float], int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRAPER, str(port), str(n), accept], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines()]
    return [float(ms) for ms, _ in rows], int(rows[-1][1])


async def ours(series: int, n: int) -> dict[str, Any]:
    cfg = PrometheusConfig.model_validate({"endpoint": f"127.0.0.1:{free_port()}", "self_telemetry": False})
    exporter = PrometheusExporter(cfg, ComponentContext(ComponentId("prometheus"), "exporter", Telemetry()))
    await exporter.start()
    try:
        for b in batches(series):
            await exporter.export(b)
        assert exporter.port is not None
        results = {}
        for name, accept in (("text", TEXT), ("openmetrics", OPENMETRICS)):
            results[name] = await asyncio.to_thread(scrape, exporter.port, n, accept)
        return results
    finally:
        await exporter.shutdown()


def baseline(series: int, n: int) -> tuple[list[float], int] | None:
    try:
        from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, start_http_server
    except ImportError:
        return None
    disable_created_metrics()  # the same samples as ours: no extra `_created` series
    registry = CollectorRegistry()
    labels = ["k8s_namespace_name", "k8s_pod_name", "k8s_container_name", "k8s_node_name", "k8s_deployment_name"]
    attrs = series_attributes(series // FAMILIES)
    for f in range(FAMILIES):
        if f % 2 == 0:
            c = Counter(f"bench_metric{f}_bytes", f"Benchmark metric {f}", labels, registry=registry)
            for i, a in enumerate(attrs):
                c.labels(*a.values()).inc(i * 7 + f)
        else:
            g = Gauge(f"bench_metric{f}_bytes", f"Benchmark metric {f}", labels, registry=registry)
            for i, a in enumerate(attrs):
                g.labels(*a.values()).set((i * 7 + f) * 0.5)
    port = free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        return scrape(port, n, TEXT)
    finally:
        server.shutdown()


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):7.1f} ms   best {min(times):7.1f} ms   worst {max(times):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=7)
    args = parser.parse_args()

    print(f"{args.series} series ({FAMILIES} families, 5 k8s labels each), {args.scrapes} scrapes per format")
    results = asyncio.run(ours(args.series, args.scrapes))
    for name, (times, size) in results.items():
        print(f"ebpf-collector {name:12s} {summary(times)}   {size / 1e6:.1f} MB")
    base = baseline(args.series, args.scrapes)
    text_median = statistics.median(results["text"][0])
    if base is None:
        print("baseline: prometheus_client not installed (pip install prometheus-client)")
    else:
        times, size = base
        print(f"prometheus_client text    {summary(times)}   {size / 1e6:.1f} MB")
        print(f"ratio: ebpf-collector is {statistics.median(times) / text_median:.2f}x the speed of prometheus_client")
    verdict = "meets" if text_median < TARGET_MS else "MISSES"
    print(f"target: scrape of {args.series} series under {TARGET_MS:.0f} ms: {verdict} ({text_median:.1f} ms median)")


if __name__ == "__main__":
    main()
