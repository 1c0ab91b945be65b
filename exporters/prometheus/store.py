"""The latest value of every series, ready to be scraped.

Series identity is (family name, sorted attributes). The rendered label string of
a series is computed once when the series first appears, so a scrape of many
series is mostly string joins. Delta sums and histograms are accumulated into
cumulative values, since Prometheus only understands cumulative."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from collector.model import (
    AttrValue,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricKind,
    NumberPoint,
    Point,
    Temporality,
)
from exporters.prometheus.buckets import merge_exponential
from exporters.prometheus.naming import label_pairs, metric_name

SeriesKey = tuple[tuple[str, AttrValue], ...]


@dataclass(slots=True)
class Series:
    labels: str  # rendered `k="v",k2="v2"` (no braces), may be empty
    point: Point
    updated: float


@dataclass(slots=True)
class Family:
    name: str  # Prometheus name, with unit and _total suffixes
    type: str  # counter | gauge | histogram | summary
    help: str
    series: dict[SeriesKey, Series] = field(default_factory=dict)


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_labels(attributes: dict[str, AttrValue] | SeriesKey, extra: SeriesKey = ()) -> str:
    items = attributes.items() if isinstance(attributes, dict) else attributes
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in label_pairs((*items, *extra)))


def family_type(metric: Metric) -> str:
    if metric.kind is MetricKind.SUM:
        return "counter" if metric.monotonic else "gauge"
    if metric.kind is MetricKind.GAUGE:
        return "gauge"
    if metric.kind is MetricKind.SUMMARY:
        return "summary"
    return "histogram"


def prometheus_name(metric: Metric, ftype: str) -> str:
    return metric_name(metric.name, metric.unit, counter=ftype == "counter", gauge=ftype == "gauge")


class MetricStore:
    def __init__(self, expiration: float, resource_labels: bool) -> None:
        self.expiration = expiration
        self.resource_labels = resource_labels  # copy resource attributes onto every series
        self.families: dict[str, Family] = {}
        self.target_info: dict[SeriesKey, Series] = {}  # resource -> its target_info series

    def update(self, metrics: list[Metric], resource: dict[str, AttrValue]) -> None:
        now = time.monotonic()
        extra: SeriesKey = tuple(sorted(resource.items())) if self.resource_labels else ()
        if resource and not self.resource_labels:
            key = tuple(sorted(resource.items()))
            info = self.target_info.get(key)
            if info is None:
                self.target_info[key] = Series(render_labels(key), NumberPoint({}, 1, 0, 0), now)
            else:
                info.updated = now
        for metric in metrics:
            ftype = family_type(metric)
            name = prometheus_name(metric, ftype)
            fam = self.families.get(name)
            if fam is None or fam.type != ftype:
                fam = self.families[name] = Family(name, ftype, metric.description)
            delta = metric.temporality is Temporality.DELTA
            for point in metric.points:
                key = (*sorted(point.attributes.items()), *extra) if extra else tuple(sorted(point.attributes.items()))
                series = fam.series.get(key)
                if series is None:
                    fam.series[key] = Series(render_labels(key), point, now)
                    continue
                series.point = accumulate(series.point, point) if delta else point
                series.updated = now

    def expire(self) -> None:
        """Forget series (and target_info of resources) not updated for `expiration` seconds."""
        if self.expiration <= 0:
            return
        cutoff = time.monotonic() - self.expiration
        for name in list(self.families):
            fam = self.families[name]
            stale = [k for k, s in fam.series.items() if s.updated < cutoff]
            for k in stale:
                del fam.series[k]
            if not fam.series:
                del self.families[name]
        for key in [k for k, s in self.target_info.items() if s.updated < cutoff]:
            del self.target_info[key]


def accumulate(old: Point, new: Point) -> Point:
    """A running cumulative total plus a delta point. A point whose shape changed
    (other bucket bounds, other type) starts the total over."""
    if isinstance(old, NumberPoint) and isinstance(new, NumberPoint):
        return NumberPoint(new.attributes, old.value + new.value, old.start_time_ns, new.time_ns)
    if isinstance(old, HistogramPoint) and isinstance(new, HistogramPoint) and old.bounds == new.bounds:
        mins = [v for v in (old.min, new.min) if v is not None]
        maxs = [v for v in (old.max, new.max) if v is not None]
        return HistogramPoint(
            new.attributes,
            new.bounds,
            [a + b for a, b in zip(old.counts, new.counts, strict=True)],
            old.sum + new.sum,
            old.start_time_ns,
            new.time_ns,
            min(mins) if mins else None,
            max(maxs) if maxs else None,
        )
    if isinstance(old, ExponentialHistogramPoint) and isinstance(new, ExponentialHistogramPoint):
        return merge_exponential(old, new)
    return new  # summaries have no delta form
