"""The runtime: fan-out, processor order, bounded queues with counted overflow,
and a shutdown that flushes everything in data-flow order."""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

import pytest
from pydantic import Field

from collector.component import (
    ComponentConfig,
    ComponentContext,
    ComponentError,
    Exporter,
    Factory,
    Processor,
    Receiver,
)
from collector.config import load_config_text
from collector.model import Data, Metric, MetricBatch, MetricKind, NumberPoint
from collector.registry import Registry
from collector.service import Service

EVENTS: list[str] = []


def batch(value: int) -> MetricBatch:
    return MetricBatch([Metric("m", MetricKind.GAUGE, [NumberPoint({}, value, 0, 0)])])


class SourceConfig(ComponentConfig):
    values: list[int] = Field(default_factory=list)
    fail: bool = False


class Source(Receiver[SourceConfig]):
    async def start(self) -> None:
        if self.config.fail:
            raise ComponentError("cannot attach")
        EVENTS.append(f"start {self.ctx.id}")
        for v in self.config.values:
            await self.emit("metrics", batch(v))

    async def shutdown(self) -> None:
        EVENTS.append(f"shutdown {self.ctx.id}")
        await self.emit("metrics", batch(-1))  # a last reading, as map pollers do


class AddConfig(ComponentConfig):
    amount: int = 0
    hold: bool = False


class Add(Processor[AddConfig]):
    def __init__(self, config: AddConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.held: list[Data] = []

    async def consume(self, data: Data) -> None:
        assert isinstance(data, MetricBatch)
        point = data.metrics[0].points[0]
        assert isinstance(point, NumberPoint)
        out = batch(int(point.value) + self.config.amount)
        if self.config.hold:
            self.held.append(out)
        else:
            await self.next.consume(out)

    async def shutdown(self) -> None:
        EVENTS.append(f"shutdown {self.ctx.id}")
        for data in self.held:
            await self.next.consume(data)
        self.held.clear()


class SinkConfig(ComponentConfig):
    slow: float = 0.0


SINKS: dict[str, list[int]] = {}


class Sink(Exporter[SinkConfig]):
    async def export(self, data: Data) -> None:
        if self.config.slow:
            await asyncio.sleep(self.config.slow)
        assert isinstance(data, MetricBatch)
        point = data.metrics[0].points[0]
        assert isinstance(point, NumberPoint)
        SINKS.setdefault(str(self.ctx.id), []).append(int(point.value))

    async def shutdown(self) -> None:
        EVENTS.append(f"shutdown {self.ctx.id}")


def registry() -> Registry:
    reg = Registry()
    reg.register(Factory("source", "receiver", "test source", SourceConfig, Source))
    reg.register(Factory("add", "processor", "adds", AddConfig, Add))
    reg.register(Factory("sink", "exporter", "collects", SinkConfig, Sink))
    return reg


def service(yaml_text: str) -> Service:
    EVENTS.clear()
    SINKS.clear()
    return Service(load_config_text(textwrap.dedent(yaml_text), "t.yaml", registry(), env={}))


async def test_fan_out_processor_order_and_flush_on_shutdown() -> None:
    svc = service("""
        receivers: {source: {values: [1, 2]}}
        processors: {add/ten: {amount: 10}, add/hundred: {amount: 100, hold: true}}
        exporters: {sink/a: {}, sink/b: {}}
        service:
          pipelines:
            metrics/one: {receivers: [source], processors: [add/ten, add/hundred], exporters: [sink/a, sink/b]}
            metrics/two: {receivers: [source], exporters: [sink/b]}
    """)
    await svc.start()
    await asyncio.sleep(0.05)
    assert SINKS.get("sink/a") is None  # held by add/hundred until shutdown
    await svc.shutdown()
    # one: +10 then +100, flushed at shutdown, including the receiver's last reading (-1)
    assert SINKS["sink/a"] == [111, 112, 109]
    assert sorted(SINKS["sink/b"]) == sorted([1, 2, -1, 111, 112, 109])
    # receivers stop first, processors in pipeline order, exporters last
    assert EVENTS.index("shutdown source") < EVENTS.index("shutdown add/ten") < EVENTS.index("shutdown add/hundred")
    assert EVENTS.index("shutdown add/hundred") < EVENTS.index("shutdown sink/a")
    await svc.shutdown()  # idempotent
    assert EVENTS.count("shutdown sink/a") == 1


async def test_drop_policy_is_counted_never_silent() -> None:
    svc = service("""
        receivers: {source: {values: [1, 2, 3, 4, 5, 6]}}
        exporters: {sink: {slow: 0.01}}
        service:
          pipelines:
            metrics: {receivers: [source], exporters: [sink], queue: {size: 2, overflow: drop_newest}}
    """)
    await svc.start()
    await svc.shutdown()
    dropped = svc.telemetry.counter("queue_dropped_items", "").value(queue="pipeline/metrics")
    delivered = len(SINKS["sink"])
    assert dropped > 0
    assert delivered + dropped == 7  # 6 values + the last reading at shutdown


async def test_block_policy_delivers_everything() -> None:
    svc = service("""
        receivers: {source: {values: [1, 2, 3, 4, 5, 6]}}
        exporters: {sink: {slow: 0.005}}
        service:
          pipelines:
            metrics: {receivers: [source], exporters: [sink], queue: {size: 1}}
    """)
    await svc.start()
    await svc.shutdown()
    assert SINKS["sink"] == [1, 2, 3, 4, 5, 6, -1]


async def test_failed_start_names_component_and_stops_what_started() -> None:
    svc = service("""
        receivers: {source: {values: []}, source/bad: {fail: true}}
        exporters: {sink: {}}
        service:
          pipelines:
            metrics: {receivers: [source, source/bad], exporters: [sink]}
    """)
    with pytest.raises(ComponentError, match="receiver source/bad: cannot attach"):
        await svc.start()
    assert "shutdown source" in EVENTS and "shutdown sink" in EVENTS
    assert "shutdown source/bad" not in EVENTS  # never started, never shut down


async def test_exporter_errors_are_counted_and_flow_continues() -> None:
    class Flaky(Exporter[SinkConfig]):
        calls = 0

        async def export(self, data: Data) -> None:
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise ConnectionError("backend said no")

    reg = registry()
    reg.register(Factory("flaky", "exporter", "fails once", SinkConfig, Flaky))
    cfg = load_config_text(
        "receivers: {source: {values: [1, 2]}}\nexporters: {flaky: {}}\n"
        "service: {pipelines: {metrics: {receivers: [source], exporters: [flaky]}}}\n",
        "t.yaml",
        reg,
        env={},
    )
    svc = Service(cfg)
    await svc.start()
    await svc.shutdown()
    failed: Any = svc.telemetry.counter("exporter_failed_items", "")
    assert failed.value(exporter="flaky") == 1
    assert Flaky.calls == 3
