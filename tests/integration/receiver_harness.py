"""Run one receiver for real, outside the service, and capture what it emits."""

from __future__ import annotations

from typing import Any

from collector.component import ComponentContext, ComponentId, Receiver
from collector.model import Data, Metric, MetricBatch
from collector.registry import default_registry
from collector.telemetry import Telemetry


class Capture:
    def __init__(self) -> None:
        self.batches: list[Data] = []

    async def consume(self, data: Data) -> None:
        self.batches.append(data)

    def last_metric(self, name: str) -> Metric:
        for data in reversed(self.batches):
            if isinstance(data, MetricBatch):
                for metric in data.metrics:
                    if metric.name == name:
                        return metric
        raise AssertionError(f"no metric {name} emitted")


def make_receiver(type_: str, config: dict[str, Any], signal: str = "metrics") -> tuple[Receiver[Any], Capture]:
    factory = default_registry.get("receiver", type_)
    ctx = ComponentContext(ComponentId(type_), "receiver", Telemetry())
    receiver = factory.create(factory.config_model.model_validate(config), ctx)
    assert isinstance(receiver, Receiver)
    capture = Capture()
    receiver.next[signal] = capture
    return receiver, capture
