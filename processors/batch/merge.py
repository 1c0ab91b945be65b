"""Concatenating and splitting batches (metrics by points, events by rows)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from collector.model import AttrValue, Data, EventBatch, Metric, MetricBatch

ResourceKey = tuple[tuple[str, AttrValue], ...]


def merge(items: list[Data]) -> list[Data]:
    """Fewest batches holding the same data: metric batches of one resource and scope
    become one (points of one metric together), event batches of one source, resource
    and layout become one."""
    metric_groups: dict[tuple[ResourceKey, str], list[MetricBatch]] = {}
    event_groups: dict[tuple[str, ResourceKey, object, tuple[str, ...]], list[EventBatch]] = {}
    for item in items:
        resource = tuple(sorted(item.resource.items()))
        if isinstance(item, MetricBatch):
            metric_groups.setdefault((resource, item.scope), []).append(item)
        else:
            key = (item.source, resource, item.records.dtype, tuple(item.columns))
            event_groups.setdefault(key, []).append(item)
    out: list[Data] = [_merge_metrics(group) for group in metric_groups.values()]
    out += [_merge_events(group) for group in event_groups.values()]
    return out


def _merge_metrics(batches: list[MetricBatch]) -> MetricBatch:
    if len(batches) == 1:
        return batches[0]
    merged: dict[tuple[str, object, object], Metric] = {}
    for batch in batches:
        for m in batch.metrics:
            key = (m.name, m.kind, m.temporality)
            if key in merged:
                merged[key].points.extend(m.points)
            else:
                merged[key] = Metric(m.name, m.kind, list(m.points), m.description, m.unit, m.monotonic, m.temporality)
    return MetricBatch(list(merged.values()), dict(batches[0].resource), batches[0].scope)


def _merge_events(batches: list[EventBatch]) -> EventBatch:
    if len(batches) == 1:
        return batches[0]
    first = batches[0]
    return EventBatch(
        first.source,
        np.concatenate([b.records for b in batches]),
        max(b.time_ns for b in batches),
        dict(first.resource),
        {name: np.concatenate([b.columns[name] for b in batches]) for name in first.columns},
    )


def split(item: Data, max_size: int) -> Iterator[Data]:
    """Pieces of at most max_size datapoints or events."""
    if max_size <= 0 or len(item) <= max_size:
        yield item
        return
    if isinstance(item, EventBatch):
        for start in range(0, len(item), max_size):
            end = start + max_size
            cols = {k: v[start:end] for k, v in item.columns.items()}
            yield EventBatch(item.source, item.records[start:end], item.time_ns, dict(item.resource), cols)
        return
    metrics: list[Metric] = []
    room = max_size
    for m in item.metrics:
        points = m.points
        while points:
            take, points = points[:room], points[room:]
            metrics.append(Metric(m.name, m.kind, take, m.description, m.unit, m.monotonic, m.temporality))
            room -= len(take)
            if room == 0:
                yield MetricBatch(metrics, dict(item.resource), item.scope)
                metrics, room = [], max_size
    if metrics:
        yield MetricBatch(metrics, dict(item.resource), item.scope)
