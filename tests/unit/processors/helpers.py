"""Small helpers for processor tests: build a processor, capture what it sends on."""

from __future__ import annotations

from typing import Any

import numpy as np

from collector.component import ComponentContext, ComponentId, Notices, Processor
from collector.model import Data, EventBatch, Metric, MetricBatch
from collector.registry import default_registry
from collector.telemetry import Telemetry

EVENT = np.dtype([("pid", "<u4"), ("comm", "S16"), ("latency_ns", "<u8"), ("cgroup", "<u8")])


class Sink:
    def __init__(self) -> None:
        self.items: list[Data] = []

    async def consume(self, data: Data) -> None:
        self.items.append(data)

    def metrics(self) -> list[Metric]:
        return [m for b in self.items if isinstance(b, MetricBatch) for m in b.metrics]

    def last(self, name: str) -> Metric:
        return [m for m in self.metrics() if m.name == name][-1]


def make(
    type_: str, config: dict[str, Any], telemetry: Telemetry | None = None, notices: Notices | None = None
) -> tuple[Processor[Any], Sink, Telemetry]:
    factory = default_registry.get("processor", type_)
    telemetry = telemetry or Telemetry()
    ctx = ComponentContext(ComponentId(type_), "processor", telemetry, notices=notices or Notices())
    processor = factory.create(factory.config_model.model_validate(config), ctx)
    assert isinstance(processor, Processor)
    sink = Sink()
    processor.next = sink
    return processor, sink, telemetry


def events(pids: Any, comms: Any, latencies: Any, cgroups: Any = 0, source: str = "test") -> EventBatch:
    pids = np.asarray(pids)
    records = np.zeros(len(pids), EVENT)
    records["pid"], records["comm"], records["latency_ns"], records["cgroup"] = pids, comms, latencies, cgroups
    return EventBatch(source, records, time_ns=1)
