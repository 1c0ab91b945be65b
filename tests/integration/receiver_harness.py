"""Running one receiver in-process and catching what it emits."""

from __future__ import annotations

from typing import Any

from collector.component import ComponentContext, ComponentId, Receiver
from collector.model import Data, EventBatch, Metric, MetricBatch
from collector.registry import default_registry
from collector.telemetry import Telemetry


class Catch:
    def __init__(self) -> None:
        self.batches: list[Data] = []

    async def consume(self, data: Data) -> None:
        self.batches.append(data)

    def metrics(self) -> dict[str, Metric]:
        """The latest emitted metric of each name."""
        out: dict[str, Metric] = {}
        for batch in self.batches:
            if isinstance(batch, MetricBatch):
                for m in batch.metrics:
                    out[m.name] = m
        return out

    def events(self) -> list[EventBatch]:
        return [b for b in self.batches if isinstance(b, EventBatch)]


def make_receiver(type_: str, config: dict[str, Any], signals: tuple[str, ...] = ("metrics",)) -> Receiver[Any]:
    factory = default_registry.get("receiver", type_)
    ctx = ComponentContext(ComponentId(type_, "test"), "receiver", Telemetry())
    receiver = factory.create(factory.config_model.model_validate(config), ctx)
    assert isinstance(receiver, Receiver)
    for signal in signals:
        receiver.next[signal] = Catch()
    return receiver


def caught(receiver: Receiver[Any], signal: str = "metrics") -> Catch:
    consumer = receiver.next[signal]
    assert isinstance(consumer, Catch)
    return consumer
