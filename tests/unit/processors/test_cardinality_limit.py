"""cardinality_limit: a hard series limit that keeps totals right."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from pydantic import ValidationError

from collector.component import Notices
from collector.model import (
    Data,
    HistogramPoint,
    Metric,
    MetricBatch,
    MetricKind,
    NumberPoint,
    Temporality,
)
from processors.cardinality_limit.config import CardinalityLimitConfig
from tests.unit.processors.helpers import make

OVERFLOW = (("otel.metric.overflow", "true"),)


def counter(
    name: str, points: list[tuple[dict, float]], start: int = 1, t: int = 2, delta: bool = False
) -> MetricBatch:
    temporality = Temporality.DELTA if delta else Temporality.CUMULATIVE
    pts = [NumberPoint(attrs, value, start, t) for attrs, value in points]
    return MetricBatch([Metric(name, MetricKind.SUM, pts, monotonic=True, temporality=temporality)])


class LatestSeries:
    """A downstream that keeps only the latest point per series (like a Prometheus exporter)."""

    def __init__(self) -> None:
        self.series: dict[tuple, NumberPoint] = {}

    async def consume(self, data: Data) -> None:
        assert isinstance(data, MetricBatch)
        for m in data.metrics:
            for p in m.points:
                key = tuple(sorted(p.attributes.items()))
                old = self.series.get(key)
                if old is not None and old.start_time_ns == p.start_time_ns:
                    assert p.value >= old.value, f"{key} went down: a negative rate"
                self.series[key] = p

    def total(self) -> float:
        return sum(p.value for p in self.series.values())


async def test_100k_process_names_keep_the_total_in_bounded_memory() -> None:
    """A map keyed by process name, read every interval as cumulative counters:
    10 intervals of 10 000 new names each (100 000 in all); names stay in the map
    for two intervals, then are evicted. The limit is 2000 series."""
    proc, _, telemetry = make("cardinality_limit", {"limit": 2000})
    downstream = LatestSeries()
    proc.next = downstream
    true_total = 0
    counts: dict[int, int] = {}
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for interval in range(10):
            live = range(max(0, interval - 1) * 10000, (interval + 1) * 10000)
            points = []
            for i in live:
                step = 1 + i % 7
                counts[i] = counts.get(i, 0) + step
                true_total += step
                points.append(({"comm": f"proc-{i:05d}"}, counts[i]))
            await proc.consume(counter("commands", points, t=interval))
            del points
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - baseline - _size_of(downstream, counts)
    finally:
        tracemalloc.stop()
    assert downstream.total() == true_total
    assert len(downstream.series) == 2001  # 2000 kept series and the overflow series
    assert OVERFLOW in downstream.series
    telemetry.collect()
    labels = {"processor": "cardinality_limit", "metric": "commands"}
    assert telemetry.gauge("cardinality_series_active", "").value(**labels) == 2000
    assert telemetry.gauge("cardinality_series_limited", "").value(**labels) == 98000
    # 98 000 limited series, each kept as a hash and its last value only: a few
    # hundred bytes each (about 200), nothing like keeping 100 000 series with labels.
    assert retained < 98000 * 250, f"{retained / 1e6:.1f} MB retained"


def _size_of(downstream: LatestSeries, counts: dict[int, int]) -> int:
    """Memory the test itself holds (the downstream's 2001 series and the reference counts)."""
    return len(downstream.series) * 600 + len(counts) * 100


async def test_an_overflowed_series_stays_in_overflow_across_intervals() -> None:
    proc, _, _ = make("cardinality_limit", {"limit": 2})
    downstream = LatestSeries()
    proc.next = downstream
    a, b, c = {"pid": 1}, {"pid": 2}, {"pid": 3}
    await proc.consume(counter("x", [(a, 10), (b, 20), (c, 30)], t=1))
    assert downstream.series[OVERFLOW].value == 30
    await proc.consume(counter("x", [(a, 11)], t=2))  # c silent: the overflow must not go down
    assert downstream.series[OVERFLOW].value == 30
    proc.forget("pid", 2)  # b is gone: a slot frees up ...
    await proc.consume(counter("x", [(c, 35)], t=3))
    # ... but c already counted in the overflow; it keeps going there (else counted twice)
    assert downstream.series[OVERFLOW].value == 35
    assert (("pid", 3),) not in downstream.series
    await proc.consume(counter("x", [(c, 5)], start=9, t=4))  # c restarted: its new count adds
    assert downstream.series[OVERFLOW].value == 40
    assert downstream.total() == 11 + 20 + 40


async def test_delta_input_folds_each_batch() -> None:
    proc, sink, _ = make("cardinality_limit", {"limit": 1})
    await proc.consume(counter("x", [({"p": 1}, 1), ({"p": 2}, 2), ({"p": 3}, 3)], delta=True))
    await proc.consume(counter("x", [({"p": 1}, 1)], delta=True))
    first, second = [m.points for m in sink.metrics()]
    assert {tuple(p.attributes.items()): p.value for p in first} == {(("p", 1),): 1, OVERFLOW: 5}
    assert [p.value for p in second] == [1]  # no overflow point: nothing folded in this interval


async def test_histograms_fold_with_counts_and_sums_intact() -> None:
    proc, sink, _ = make("cardinality_limit", {"limit": 1})

    def hist(pid: int, counts: list[int], total: float) -> HistogramPoint:
        return HistogramPoint({"pid": pid}, (1.0, 10.0), counts, total, 1, 2)

    for step in (1, 2):
        points = [hist(p, [step * p, 0, step], step * (p + 50.0)) for p in (1, 2, 3)]
        await proc.consume(MetricBatch([Metric("lat", MetricKind.HISTOGRAM, points)]))
    out = {tuple(p.attributes.items()): p for p in sink.metrics()[-1].points}
    overflow = out[OVERFLOW]
    assert isinstance(overflow, HistogramPoint)
    assert overflow.counts == [2 * 2 + 2 * 3, 0, 4] and overflow.sum == 2 * 52.0 + 2 * 53.0


async def test_drop_attribute_merges_series_without_it() -> None:
    proc, sink, _ = make("cardinality_limit", {"limit": 2, "action": "drop_attribute", "drop_attribute": "pid"})
    points = [({"comm": "bash", "pid": p}, 1.0) for p in range(1, 6)]
    points += [({"comm": "vim", "pid": 9}, 4.0), ({"comm": "zsh", "pid": 7}, 2.0)]
    await proc.consume(counter("x", points))
    got = {tuple(sorted(p.attributes.items())): p.value for p in sink.metrics()[-1].points}
    # two series kept as they are; the rest lose pid, and those series have a budget of 2 again
    assert got == {
        (("comm", "bash"), ("pid", 1)): 1.0,
        (("comm", "bash"), ("pid", 2)): 1.0,
        (("comm", "bash"),): 3.0,
        (("comm", "vim"),): 4.0,
        OVERFLOW: 2.0,
    }


async def test_drop_counts_what_it_drops_and_per_metric_limits() -> None:
    proc, sink, telemetry = make(
        "cardinality_limit", {"limit": 100, "metrics": {"small": {"limit": 1, "action": "drop"}, "tiny": 1}}
    )
    await proc.consume(counter("small", [({"p": i}, 1) for i in range(5)]))
    await proc.consume(counter("tiny", [({"p": i}, 1) for i in range(5)]))
    await proc.consume(counter("big", [({"p": i}, 1) for i in range(5)]))
    lengths = {m.name: len(m.points) for m in sink.metrics()}
    assert lengths == {"small": 1, "tiny": 2, "big": 5}
    assert telemetry.counter("cardinality_dropped_items", "").value(processor="cardinality_limit", metric="small") == 4
    assert telemetry.counter("cardinality_overflow_items", "").value(processor="cardinality_limit", metric="tiny") == 4


async def test_gone_notice_frees_slots_at_once() -> None:
    notices = Notices()
    proc, sink, _ = make("cardinality_limit", {"limit": 1}, notices=notices)
    await proc.consume(counter("x", [({"k8s.pod.uid": "a"}, 1)]))
    notices.gone("k8s.pod.uid", "a")  # what k8s_metadata sends when the pod is deleted
    await proc.consume(counter("x", [({"k8s.pod.uid": "b"}, 1)]))
    assert [p.attributes for p in sink.metrics()[-1].points] == [{"k8s.pod.uid": "b"}]


async def test_idle_series_expire() -> None:
    proc, sink, _ = make("cardinality_limit", {"limit": 1, "expire_after": "1h"})
    await proc.consume(counter("x", [({"p": 1}, 1)]))
    proc.expire(cutoff=float("inf"))  # as if an hour passed without data
    await proc.consume(counter("x", [({"p": 2}, 1)]))
    assert [p.attributes for p in sink.metrics()[-1].points] == [{"p": 2}]


async def test_events_pass_through() -> None:
    from tests.unit.processors.helpers import events

    proc, sink, _ = make("cardinality_limit", {})
    batch = events([1], b"x", 1)
    await proc.consume(batch)
    assert sink.items == [batch]


def test_drop_attribute_needs_the_attribute() -> None:
    with pytest.raises(ValidationError, match="needs `drop_attribute`"):
        CardinalityLimitConfig.model_validate({"action": "drop_attribute"})
    with pytest.raises(ValidationError, match=r"metrics\.m"):
        CardinalityLimitConfig.model_validate({"metrics": {"m": {"action": "drop_attribute"}}})


async def test_exponential_histograms_and_summaries_fold_keeping_counts() -> None:
    from collector.model import ExponentialHistogramPoint, SummaryPoint

    proc, sink, _ = make("cardinality_limit", {"limit": 1})
    for step in (1, 2):
        exp = [
            ExponentialHistogramPoint({"p": 1}, 3, 0, 8, [step, step], 10.0 * step, 1, 2),
            ExponentialHistogramPoint({"p": 2}, 1, step, -4, [step] * 50, 20.0 * step, 1, 2),
            ExponentialHistogramPoint({"p": 3}, 0, 0, 400, [step] * 10, 30.0 * step, 1, 2),
        ]
        summaries = [SummaryPoint({"p": p}, [(0.5, 1.0)], 5.0 * step * p, step * p, 1, 2) for p in (1, 2, 3)]
        await proc.consume(
            MetricBatch(
                [Metric("e", MetricKind.EXPONENTIAL_HISTOGRAM, exp), Metric("s", MetricKind.SUMMARY, summaries)]
            )
        )
    e_over = next(p for p in sink.last("e").points if p.attributes == dict(OVERFLOW))
    assert isinstance(e_over, ExponentialHistogramPoint)
    # p=2 and p=3 after two cumulative intervals: every count once, at a scale that fits both
    assert e_over.count == (2 + 2 * 50) + 2 * 10 and e_over.sum == 40.0 + 60.0
    assert e_over.scale <= 0 and len(e_over.positive_counts) <= 160
    s_over = next(p for p in sink.last("s").points if p.attributes == dict(OVERFLOW))
    assert isinstance(s_over, SummaryPoint)
    assert (s_over.count, s_over.sum, s_over.quantiles) == (2 * 2 + 2 * 3, 20.0 + 30.0, [])
