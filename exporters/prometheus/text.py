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
from exporters.prometheus.buckets import exponential_to_buckets
from exporters.prometheus.store import Family, MetricStore, Series, family_type, prometheus_name, render_labels

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


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text  # OpenMetrics escapes quotes in HELP too


def render_family(fam: Family, out: list[str], openmetrics: bool) -> None:
    base = fam.name
    if fam.type == "counter" and openmetrics:
        base = fam.name[: -len("_total")]  # OpenMetrics names the family without the sample suffix
    if fam.help:
        out.append(f"# HELP {base} {_escape_help(fam.help, openmetrics)}\n")
    out.append(f"# TYPE {base} {fam.type}\n")
    name = fam.name
    for series in fam.series.values():
        point = series.point
        if isinstance(point, NumberPoint):  # the common case, kept inline
            labels = series.labels
            out.append(f"{name}{{{labels}}} {fmt(point.value)}\n" if labels else f"{name} {fmt(point.value)}\n")
        else:
            _render_series(name, series, out)


def _render_series(name: str, series: Series, out: list[str]) -> None:
    point, labels = series.point, series.labels
    if isinstance(point, HistogramPoint):
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
        if not math.isinf(bound):  # a +Inf bound in the data is the +Inf bucket written below
            out.append(f"{name}_bucket{_with(labels, _pair('le', fmt_float(bound)))} {cumulative}\n")
    cumulative = sum(counts)
    out.append(f"{name}_bucket{_with(labels, _INF)} {cumulative}\n")
    out.append(f"{name}_sum{_braced(labels)} {fmt(total)}\n")
    out.append(f"{name}_count{_braced(labels)} {cumulative}\n")


def _render_target_info(store: MetricStore, out: list[str], openmetrics: bool) -> None:
    # OpenMetrics' info type names the family `target` and its sample `target_info`.
    family = "target" if openmetrics else "target_info"
    out.append(f"# HELP {family} Target metadata\n")
    out.append(f"# TYPE {family} {'info' if openmetrics else 'gauge'}\n")
    for series in store.target_info.values():
        out.append(f"target_info{_braced(series.labels)} 1\n")


def render(store: MetricStore, extra: Iterable[MetricBatch], openmetrics: bool) -> str:
    out: list[str] = []
    if store.target_info:
        _render_target_info(store, out, openmetrics)
    for fam in store.families.values():
        render_family(fam, out, openmetrics)
    for batch in extra:  # self-telemetry, rendered live
        for metric in batch.metrics:
            ftype = family_type(metric)
            fam = Family(prometheus_name(metric, ftype), ftype, metric.description)
            if fam.name in store.families:
                continue  # a name clash with piped data: a family may appear only once
            for p in metric.points:
                fam.series[tuple(sorted(p.attributes.items()))] = Series(render_labels(dict(p.attributes)), p, 0.0)
            if fam.series:
                render_family(fam, out, openmetrics)
    if openmetrics:
        out.append("# EOF\n")
    return "".join(out)
