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
    SummaryPoint,
    Temporality,
)
from exporters.prometheus.naming import label_name, metric_name

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
    merged: dict[str, str] = {}
    for key, value in (*items, *extra):
        name = label_name(key)
        text = _label_text(value)
        # Two attributes that sanitize to one label name are joined, as the OTel spec says.
        merged[name] = f"{merged[name]};{text}" if name in merged else text
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(merged.items()))


def _label_text(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def family_type(metric: Metric) -> str:
    if metric.kind is MetricKind.SUM:
        return "counter" if metric.monotonic else "gauge"
    if metric.kind is MetricKind.GAUGE:
        return "gauge"
    if metric.kind is MetricKind.SUMMARY:
        return "summary"
    return "histogram"


class MetricStore:
    def __init__(self, expiration: float, resource_labels: bool) -> None:
        self.expiration = expiration
        self.resource_labels = resource_labels  # copy resource attributes onto every series
        self.families: dict[str, Family] = {}
        self.target_info: dict[SeriesKey, str] = {}

    def update(self, metrics: list[Metric], resource: dict[str, AttrValue]) -> None:
        now = time.monotonic()
        extra: SeriesKey = tuple(sorted(resource.items())) if self.resource_labels else ()
        if resource and not self.resource_labels:
            key = tuple(sorted(resource.items()))
            if key not in self.target_info:
                self.target_info[key] = render_labels(key)
        for metric in metrics:
            ftype = family_type(metric)
            name = metric_name(metric.name, metric.unit, counter=ftype == "counter", gauge=ftype == "gauge")
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
                series.point = _accumulate(series.point, point) if delta else point
                series.updated = now

    def expire(self) -> None:
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


def _accumulate(old: Point, new: Point) -> Point:
    if isinstance(old, NumberPoint) and isinstance(new, NumberPoint):
        return NumberPoint(new.attributes, old.value + new.value, old.start_time_ns, new.time_ns)
    if isinstance(old, HistogramPoint) and isinstance(new, HistogramPoint) and old.bounds == new.bounds:
        return HistogramPoint(
            new.attributes,
            new.bounds,
            [a + b for a, b in zip(old.counts, new.counts, strict=True)],
            old.sum + new.sum,
            old.start_time_ns,
            new.time_ns,
        )
    if isinstance(new, ExponentialHistogramPoint | SummaryPoint):
        return new  # producers of these emit cumulative points (see processors/aggregate)
    return new
