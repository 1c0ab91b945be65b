"""batch: by size, by timeout, split at max size, flushed on shutdown."""

from __future__ import annotations

import asyncio

import numpy as np

from collector.model import EventBatch, Metric, MetricBatch, MetricKind, NumberPoint
from tests.unit.processors.helpers import events, make


def metrics(n: int, name: str = "m") -> MetricBatch:
    return MetricBatch([Metric(name, MetricKind.GAUGE, [NumberPoint({"i": i}, i, 0, 1) for i in range(n)])])


async def test_sends_when_the_size_is_reached_merging_batches() -> None:
    proc, sink, _ = make("batch", {"send_batch_size": 10, "timeout": "1h"})
    await proc.start()
    for _ in range(3):
        await proc.consume(events(np.arange(4), b"x", 1))
    assert len(sink.items) == 1
    merged = sink.items[0]
    assert isinstance(merged, EventBatch) and len(merged) == 12
    assert merged.column("pid").tolist() == [0, 1, 2, 3] * 3
    await proc.shutdown()


async def test_timeout_sends_what_waits() -> None:
    proc, sink, _ = make("batch", {"send_batch_size": 1000, "timeout": "20ms"})
    await proc.start()
    await proc.consume(metrics(3))
    await proc.consume(metrics(2, "other"))
    for _ in range(100):
        if sink.items:
            break
        await asyncio.sleep(0.01)
    assert len(sink.items) == 1
    assert sorted((m.name, len(m.points)) for m in sink.metrics()) == [("m", 3), ("other", 2)]
    await proc.shutdown()


async def test_max_size_splits_and_shutdown_flushes() -> None:
    proc, sink, _ = make("batch", {"send_batch_size": 5, "send_batch_max_size": 5, "timeout": "1h"})
    await proc.start()
    await proc.consume(metrics(12))
    assert [len(b) for b in sink.items] == [5, 5, 2]
    await proc.consume(events(np.arange(3), b"x", 1))
    await proc.shutdown()
    await proc.shutdown()  # idempotent
    assert [len(b) for b in sink.items] == [5, 5, 2, 3]
    points = [p.value for m in sink.metrics() for p in m.points]
    assert points == list(range(12))
