"""MetricBatch -> Prometheus samples, by the OTel spec's Prometheus compatibility rules:
counters get `_total`, histograms (explicit and exponential) become classic
`_bucket{le}` / `_sum` / `_count` series, summaries `{quantile}` / `_sum` / `_count`.
Delta sums and histograms are accumulated into cumulative values first, since
Prometheus only stores cumulative ones."""

from __future__ import annotations

import time
from dataclasses import dataclass

from collector.model import (
    AttrValue,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricBatch,
    NumberPoint,
    Point,
    SummaryPoint,
    Temporality,
)
from exporters.prometheus.buckets import exponential_to_buckets
from exporters.prometheus.naming import label_pairs
from exporters.prometheus.store import accumulate, family_type, prometheus_name
from exporters.prometheus.text import fmt_float

Labels = tuple[tuple[str, str], ...]

# Resource attributes that identify the target: they become `job` and `instance`.
DELTA_IDLE = 900.0  # seconds: running totals of delta series not updated this long are forgotten

SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE = "service.name", "service.namespace", "service.instance.id"


@dataclass(slots=True, frozen=True)
class PromSample:
    family: str  # the family's name, for metadata (`foo` for `foo_bucket`)
    labels: Labels  # sorted, `__name__` included
    value: float
    timestamp_ms: int


@dataclass(slots=True, frozen=True)
class FamilyMeta:
    type: str  # counter | gauge | histogram | summary | info
    help: str
    unit: str


def job_instance(resource: dict[str, AttrValue]) -> list[tuple[str, str]]:
    """`job` = service.namespace/service.name and `instance` = service.instance.id, when present."""
    out = []
    if SERVICE_NAME in resource:
        name = str(resource[SERVICE_NAME])
        namespace = resource.get(SERVICE_NAMESPACE)
        out.append(("job", f"{namespace}/{name}" if namespace else name))
    if SERVICE_INSTANCE in resource:
        out.append(("instance", str(resource[SERVICE_INSTANCE])))
    return out


class Converter:
    def __init__(self, external_labels: dict[str, str], resource_labels: bool, target_info: bool) -> None:
        self.external = sorted(external_labels.items())
        self.resource_labels = resource_labels
        self.target_info = target_info
        self.families: dict[str, FamilyMeta] = {}
        # Running totals of delta series, keyed by (family, attributes), with when they were last updated.
        self._totals: dict[tuple[str, tuple[tuple[str, AttrValue], ...]], tuple[Point, float]] = {}
        self._pruned = time.monotonic()

    def convert(self, batch: MetricBatch) -> list[PromSample]:
        out: list[PromSample] = []
        resource = batch.resource
        target = job_instance(resource)
        extra: list[tuple[str, AttrValue]] = list(resource.items()) if self.resource_labels else []
        if resource and self.target_info and not self.resource_labels:
            identifying = (SERVICE_NAME, SERVICE_NAMESPACE, SERVICE_INSTANCE)
            info = [(k, v) for k, v in resource.items() if k not in identifying]
            self.families.setdefault("target_info", FamilyMeta("info", "Target metadata", ""))
            now_ms = time.time_ns() // 1_000_000
            out.append(PromSample("target_info", self._labels("target_info", info, target), 1.0, now_ms))
        for metric in batch.metrics:
            self._metric(metric, extra, target, out)
        return out

    def _labels(self, name: str, attrs: list[tuple[str, AttrValue]], target: list[tuple[str, str]]) -> Labels:
        pairs = dict(label_pairs(attrs))
        for key, value in (*target, *self.external):
            pairs.setdefault(key, value)  # a series' own label wins over job/instance and external labels
        pairs["__name__"] = name
        return tuple(sorted(pairs.items()))

    def _metric(
        self, metric: Metric, extra: list[tuple[str, AttrValue]], target: list[tuple[str, str]], out: list[PromSample]
    ) -> None:
        ftype = family_type(metric)
        name = prometheus_name(metric, ftype)
        self.families[name] = FamilyMeta(ftype, metric.description, metric.unit)
        delta = metric.temporality is Temporality.DELTA
        for point in metric.points:
            attrs = [*point.attributes.items(), *extra]
            if delta:
                point = self._cumulative(name, point)
            ts = (point.time_ns or time.time_ns()) // 1_000_000
            if isinstance(point, NumberPoint):
                out.append(PromSample(name, self._labels(name, attrs, target), float(point.value), ts))
                continue
            base = self._labels(name, attrs, target)
            if isinstance(point, HistogramPoint | ExponentialHistogramPoint):
                if isinstance(point, HistogramPoint):
                    bounds, counts = list(point.bounds), point.counts
                else:
                    bounds, counts = exponential_to_buckets(point)
                self._histogram(name, base, bounds, counts, point.sum, ts, out)
            elif isinstance(point, SummaryPoint):
                for q, v in point.quantiles:
                    out.append(PromSample(name, _plus(base, "quantile", fmt_float(q)), float(v), ts))
                out.append(PromSample(name, _renamed(base, name + "_sum"), float(point.sum), ts))
                out.append(PromSample(name, _renamed(base, name + "_count"), float(point.count), ts))

    def _histogram(
        self,
        name: str,
        base: Labels,
        bounds: list[float],
        counts: list[int],
        total: float,
        ts: int,
        out: list[PromSample],
    ) -> None:
        bucket = _renamed(base, name + "_bucket")
        cumulative = 0
        for bound, count in zip(bounds, counts, strict=False):
            cumulative += count
            if bound != float("inf"):
                out.append(PromSample(name, _plus(bucket, "le", fmt_float(bound)), float(cumulative), ts))
        cumulative = sum(counts)
        out.append(PromSample(name, _plus(bucket, "le", "+Inf"), float(cumulative), ts))
        out.append(PromSample(name, _renamed(base, name + "_sum"), float(total), ts))
        out.append(PromSample(name, _renamed(base, name + "_count"), float(cumulative), ts))

    def _cumulative(self, name: str, point: Point) -> Point:
        now = time.monotonic()
        if now - self._pruned > DELTA_IDLE / 10:
            self._pruned = now
            for stale in [k for k, (_, seen) in self._totals.items() if now - seen > DELTA_IDLE]:
                del self._totals[stale]  # a series gone quiet: a later point starts a new total
        key = (name, tuple(sorted(point.attributes.items())))
        old = self._totals.get(key)
        total = point if old is None else accumulate(old[0], point)
        self._totals[key] = (total, now)
        return total


def _plus(labels: Labels, key: str, value: str) -> Labels:
    return tuple(sorted((*(kv for kv in labels if kv[0] != key), (key, value))))


def _renamed(labels: Labels, name: str) -> Labels:
    return tuple((k, name if k == "__name__" else v) for k, v in labels)
