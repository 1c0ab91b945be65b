"""Events become metrics in a `metrics` pipeline: an event receiver feeds
aggregate -> cardinality_limit -> batch, and Prometheus scrapes the result."""

from __future__ import annotations

import asyncio
import subprocess

import aiohttp
import numpy as np

from collector.component import ComponentConfig, Factory, Receiver
from collector.config import load_config_text
from collector.registry import Registry
from collector.service import Service
from tests.conftest import require_tool
from tests.unit.processors.helpers import events


class Empty(ComponentConfig):
    pass


class Emitter(Receiver[Empty]):
    """An event receiver (like ebpf_events): EventBatches into metrics and logs pipelines."""

    async def send(self, pids: np.ndarray, comms: np.ndarray, latencies: np.ndarray) -> None:
        for signal in self.next:
            await self.emit(signal, events(pids, comms, latencies))


CONFIG = """
receivers:
  emitter: {}
processors:
  memory_limiter: {limit_percentage: 90}
  aggregate:
    interval: 1h
    metrics:
      - name: triangle_corp_runq_microseconds
        description: Run-queue latency
        type: summary
        field: latency_ns
        multiplier: 0.001
        group_by: [comm]
        quantiles: [0, 0.25, 0.5, 1]
      - name: runq_latency
        unit: ns
        type: histogram
        field: latency_ns
        bounds: [1024, 4096, 16384]
        group_by: [comm]
      - name: wakeups
        type: counter
        group_by: [pid]
  cardinality_limit: {limit: 3}
  batch: {timeout: 10ms}
exporters:
  prometheus: {endpoint: "127.0.0.1:%d", self_telemetry: true}
service:
  pipelines:
    metrics:
      receivers: [emitter]
      processors: [memory_limiter, aggregate, cardinality_limit, batch]
      exporters: [prometheus]
"""


async def test_events_to_prometheus(port: int) -> None:
    registry = Registry()
    registry.register(Factory("emitter", "receiver", "test", Empty, Emitter, frozenset({"metrics", "logs"})))
    service = Service(load_config_text(CONFIG % port, "pipeline.yaml", registry))
    await service.start()
    try:
        emitter = service.receivers[next(iter(service.receivers))]
        assert isinstance(emitter, Emitter)
        rng = np.random.default_rng(5)
        pids = rng.integers(1, 20, 5000)
        comms = np.array([b"web", b"db"])[pids % 2]
        lat = rng.integers(500, 30000, 5000)
        await emitter.send(pids, comms, lat)
        for runner in service.pipelines:
            await runner.drain(5)
        aggregate = service.processors[0][1]
        await aggregate.flush()  # type: ignore[attr-defined]
        text = ""
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # the batch timeout, then the exporter queue: poll, do not guess
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    text = await resp.text()
                if "wakeups_total{" in text:
                    break
                await asyncio.sleep(0.05)
    finally:
        await service.shutdown()
    samples = _samples(text)
    web_us = lat[comms == b"web"] * 0.001
    assert samples['triangle_corp_runq_microseconds_count{comm="web"}'] == len(web_us)
    assert abs(samples['triangle_corp_runq_microseconds{comm="web",quantile="0.5"}'] - np.median(web_us)) < 1e-6
    assert samples['triangle_corp_runq_microseconds{comm="db",quantile="1.0"}'] == lat[comms == b"db"].max() * 0.001
    assert samples['runq_latency_nanoseconds_bucket{comm="db",le="4096.0"}'] == np.sum((comms == b"db") & (lat <= 4096))
    wakeups = {k: v for k, v in samples.items() if k.startswith("wakeups_total{")}
    assert len(wakeups) == 4 and 'wakeups_total{otel_metric_overflow="true"}' in wakeups
    assert sum(wakeups.values()) == 5000  # three pids kept, the rest in the overflow series: the total is right
    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert "error" not in (check.stdout + check.stderr).lower(), check.stdout + check.stderr


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
