"""Self-telemetry: the collector's own `ebpf_collector_*` metrics.

Kept in our own data model (not a global prometheus_client registry) so it can
flow to any exporter. Counters are cheap dict updates keyed by label values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from collector.model import Metric, MetricBatch, MetricKind, NumberPoint, now_ns

LabelKey = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class _Instrument:
    name: str
    description: str
    unit: str
    monotonic: bool
    values: dict[LabelKey, float] = field(default_factory=dict)


class Counter:
    def __init__(self, inst: _Instrument) -> None:
        self._inst = inst

    def add(self, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self._inst.values[key] = self._inst.values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        return self._inst.values.get(tuple(sorted(labels.items())), 0)


class Gauge:
    def __init__(self, inst: _Instrument) -> None:
        self._inst = inst

    def set(self, value: float, **labels: str) -> None:
        self._inst.values[tuple(sorted(labels.items()))] = value

    def value(self, **labels: str) -> float:
        return self._inst.values.get(tuple(sorted(labels.items())), 0)


class Telemetry:
    PREFIX = "ebpf_collector_"

    def __init__(self) -> None:
        self._instruments: dict[str, _Instrument] = {}
        self._callbacks: list[Callable[[], None]] = []
        self.start_time_ns = now_ns()

    def _get(self, name: str, description: str, unit: str, monotonic: bool) -> _Instrument:
        full = name if name.startswith(self.PREFIX) else self.PREFIX + name
        inst = self._instruments.get(full)
        if inst is None:
            inst = self._instruments[full] = _Instrument(full, description, unit, monotonic)
        return inst

    def counter(self, name: str, description: str, unit: str = "") -> Counter:
        return Counter(self._get(name, description, unit, monotonic=True))

    def gauge(self, name: str, description: str, unit: str = "") -> Gauge:
        return Gauge(self._get(name, description, unit, monotonic=False))

    def on_collect(self, callback: Callable[[], None]) -> None:
        """Run `callback` before each collection, to refresh gauges read from elsewhere."""
        self._callbacks.append(callback)

    def collect(self) -> MetricBatch:
        for cb in self._callbacks:
            cb()
        now = now_ns()
        metrics = []
        for inst in self._instruments.values():
            points = [NumberPoint(dict(key), value, self.start_time_ns, now) for key, value in inst.values.items()]
            kind = MetricKind.SUM if inst.monotonic else MetricKind.GAUGE
            metrics.append(Metric(inst.name, kind, list(points), inst.description, inst.unit, inst.monotonic))
        return MetricBatch(metrics, scope="ebpf-collector.self")
