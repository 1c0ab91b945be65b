"""Drive a receiver directly, outside the service: start it, poll on demand, look
at what it emitted."""

from __future__ import annotations

from typing import Any

from collector.component import ComponentContext, ComponentId, Receiver
from collector.model import Data, EventBatch, HistogramPoint, Metric, MetricBatch, NumberPoint
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


def build(type_: str, config: dict[str, Any], signal: str = "metrics") -> Receiver[Any]:
    """A receiver whose emissions are captured per signal (see `last_metric`, `emitted_events`)."""
    receiver, _ = make_receiver(type_, config, signal)
    return receiver


def last_metric(receiver: Receiver[Any], name: str) -> Metric:
    capture = receiver.next["metrics"]
    assert isinstance(capture, Capture)
    return capture.last_metric(name)


def emitted_events(receiver: Receiver[Any]) -> list[EventBatch]:
    capture = receiver.next["logs"]
    assert isinstance(capture, Capture)
    return [b for b in capture.batches if isinstance(b, EventBatch)]


def make_receiver(type_: str, config: dict[str, Any], signal: str = "metrics") -> tuple[Receiver[Any], Capture]:
    factory = default_registry.get("receiver", type_)
    ctx = ComponentContext(ComponentId(type_), "receiver", Telemetry())
    receiver = factory.create(factory.config_model.model_validate(config), ctx)
    assert isinstance(receiver, Receiver)
    capture = Capture()
    receiver.next[signal] = capture
    return receiver, capture


class Sink:
    def __init__(self) -> None:
        self.batches: list[MetricBatch] = []

    async def consume(self, data: Data) -> None:
        assert isinstance(data, MetricBatch)
        self.batches.append(data)

    def latest(self, name: str) -> Metric:
        for batch in reversed(self.batches):
            for metric in batch.metrics:
                if metric.name == name:
                    return metric
        raise AssertionError(f"no metric {name!r} emitted; got {self.names()}")

    def names(self) -> set[str]:
        return {m.name for b in self.batches for m in b.metrics}


def make(factory: Any, config: dict[str, Any], name: str = "") -> tuple[Receiver[Any], Sink, Telemetry]:
    telemetry = Telemetry()
    cfg = factory.config_model.model_validate(config)
    ctx = ComponentContext(ComponentId(factory.type, name), "receiver", telemetry)
    receiver = factory.create(cfg, ctx)
    sink = Sink()
    receiver.next["metrics"] = sink
    return receiver, sink, telemetry


def value(metric: Metric, **labels: str) -> float:
    """The value of the one point whose attributes include `labels` (0 if none)."""
    found = [p for p in metric.points if all(p.attributes.get(k) == v for k, v in labels.items())]
    assert len(found) <= 1, f"{len(found)} points match {labels}"
    if not found:
        return 0
    point = found[0]
    assert isinstance(point, NumberPoint)
    return point.value


def histogram(metric: Metric) -> HistogramPoint:
    assert len(metric.points) == 1
    point = metric.points[0]
    assert isinstance(point, HistogramPoint)
    return point
