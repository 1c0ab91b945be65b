"""Cutting batches into requests of at most N items (gRPC servers refuse large messages)."""

from __future__ import annotations

from collections.abc import Iterator

from collector.model import Data, EventBatch, Metric, MetricBatch


def split(data: Data, max_items: int) -> Iterator[Data]:
    if len(data) <= max_items:
        yield data
    elif isinstance(data, MetricBatch):
        yield from _split_metrics(data, max_items)
    else:
        yield from _split_events(data, max_items)


def _split_metrics(batch: MetricBatch, max_items: int) -> Iterator[MetricBatch]:
    chunk: list[Metric] = []
    room = max_items
    for metric in batch.metrics:
        start = 0
        while start < len(metric.points):
            take = metric.points[start : start + room]
            chunk.append(
                Metric(
                    metric.name,
                    metric.kind,
                    take,
                    metric.description,
                    metric.unit,
                    metric.monotonic,
                    metric.temporality,
                )
            )
            start += len(take)
            room -= len(take)
            if room == 0:
                yield MetricBatch(chunk, batch.resource, batch.scope)
                chunk, room = [], max_items
    if chunk:
        yield MetricBatch(chunk, batch.resource, batch.scope)


def _split_events(batch: EventBatch, max_items: int) -> Iterator[EventBatch]:
    for start in range(0, len(batch), max_items):
        yield batch.slice(start, start + max_items)
