"""Prometheus text exposition (0.0.4) and OpenMetrics 1.0 rendering."""

from __future__ import annotations

import math
from collections.abc import Iterable

from collector.model import (
    ExponentialHistogramPoint,
    HistogramPoint,
    MetricBatch,
    NumberPoint,
    SummaryPoint,
)
from exporters.prometheus.naming import metric_name
from exporters.prometheus.store import Family, MetricStore, Series, family_type, render_labels

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def fmt(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def fmt_float(value: float) -> str:
    """Label values like `le` and `quantile` are always written as floats (`1.0`)."""
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _with(labels: str, extra: str) -> str:
    return "{" + (f"{labels},{extra}" if labels else extra) + "}"


_INF = 'le="+Inf"'


def _pair(key: str, value: str) -> str:
    return f'{key}="{value}"'


def _braced(labels: str) -> str:
    return "{" + labels + "}" if labels else ""


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render_family(fam: Family, out: list[str], openmetrics: bool) -> None:
    base = fam.name
    if fam.type == "counter" and openmetrics:
        base = fam.name[: -len("_total")]
    if fam.help:
        out.append(f"# HELP {base} {_escape_help(fam.help)}\n")
    out.append(f"# TYPE {base} {fam.type}\n")
    for series in fam.series.values():
        _render_series(fam, series, out)


def _render_series(fam: Family, series: Series, out: list[str]) -> None:
    point, labels, name = series.point, series.labels, fam.name
    if isinstance(point, NumberPoint):
        out.append(f"{name}{_braced(labels)} {fmt(point.value)}\n")
    elif isinstance(point, HistogramPoint):
        _buckets(name, labels, point.bounds, point.counts, point.sum, out)
    elif isinstance(point, ExponentialHistogramPoint):
        bounds, counts = exponential_to_buckets(point)
        _buckets(name, labels, bounds, counts, point.sum, out)
    elif isinstance(point, SummaryPoint):
        for q, v in point.quantiles:
            out.append(f"{name}{_with(labels, _pair('quantile', fmt_float(q)))} {fmt(v)}\n")
        out.append(f"{name}_sum{_braced(labels)} {fmt(point.sum)}\n")
        out.append(f"{name}_count{_braced(labels)} {point.count}\n")


def _buckets(name: str, labels: str, bounds: Iterable[float], counts: list[int], total: float, out: list[str]) -> None:
    cumulative = 0
    for bound, count in zip(bounds, counts, strict=False):
        cumulative += count
        out.append(f"{name}_bucket{_with(labels, _pair('le', fmt_float(bound)))} {cumulative}\n")
    cumulative = sum(counts)
    out.append(f"{name}_bucket{_with(labels, _INF)} {cumulative}\n")
    out.append(f"{name}_sum{_braced(labels)} {fmt(total)}\n")
    out.append(f"{name}_count{_braced(labels)} {cumulative}\n")


def exponential_to_buckets(point: ExponentialHistogramPoint) -> tuple[list[float], list[int]]:
    """Classic `le` buckets from an exponential histogram (positive values; the zero
    and negative buckets fold into the first bound)."""
    base = 2.0 ** (2.0**-point.scale)
    bounds: list[float] = []
    counts: list[int] = []
    low = point.zero_count + sum(point.negative_counts)
    first_lower = base**point.positive_offset
    if low:
        bounds.append(first_lower)
        counts.append(low)
    for k, count in enumerate(point.positive_counts):
        bounds.append(base ** (point.positive_offset + k + 1))
        counts.append(count)
    counts.append(0)  # +Inf
    return bounds, counts


def render(store: MetricStore, extra: Iterable[MetricBatch], openmetrics: bool) -> str:
    out: list[str] = []
    if store.target_info:
        kind = "info" if openmetrics else "gauge"
        out.append("# HELP target_info Target metadata\n")
        out.append(f"# TYPE target_info {kind}\n")
        for labels in store.target_info.values():
            out.append(f"target_info{_braced(labels)} 1\n")
    for fam in store.families.values():
        render_family(fam, out, openmetrics)
    for batch in extra:  # self-telemetry, rendered live
        for metric in batch.metrics:
            ftype = family_type(metric)
            fam = Family(
                metric_name(metric.name, metric.unit, ftype == "counter", ftype == "gauge"), ftype, metric.description
            )
            for p in metric.points:
                fam.series[tuple(sorted(p.attributes.items()))] = Series(render_labels(dict(p.attributes)), p, 0.0)
            if fam.series:
                render_family(fam, out, openmetrics)
    if openmetrics:
        out.append("# EOF\n")
    return "".join(out)
