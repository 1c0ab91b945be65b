"""aggregate: events to metrics, checked against plain numpy/python references."""

from __future__ import annotations

import asyncio
import itertools
import math

import numpy as np
import pytest
from pydantic import ValidationError

from collector.model import (
    ExponentialHistogramPoint,
    HistogramPoint,
    MetricBatch,
    MetricKind,
    NumberPoint,
    SummaryPoint,
    Temporality,
    now_ns,
)
from collector.model import buckets as bk
from processors.aggregate.config import AggregateConfig
from tests.unit.processors.helpers import events, make

RNG = np.random.default_rng(11)


def workload(n: int = 20000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pids = RNG.integers(1, 6, n)
    comms = np.array([b"nginx", b"bash", b"python3"])[pids % 3]
    lat = RNG.lognormal(9, 2, n).astype(np.uint64) + 1
    return pids, comms, lat


def by_attr(points: list, key: str) -> dict:
    return {p.attributes[key]: p for p in points}


async def test_counter_counts_and_sums_per_group() -> None:
    proc, sink, _ = make(
        "aggregate",
        {
            "metrics": [
                {"name": "execs", "type": "counter", "group_by": ["comm"]},
                {"name": "wait", "type": "counter", "field": "latency_ns", "group_by": ["comm", "pid"]},
            ]
        },
    )
    pids, comms, lat = workload()
    half = len(pids) // 2
    await proc.consume(events(pids[:half], comms[:half], lat[:half]))
    await proc.consume(events(pids[half:], comms[half:], lat[half:]))
    await proc.shutdown()
    execs = sink.last("execs")
    assert execs.kind is MetricKind.SUM and execs.monotonic and execs.temporality is Temporality.CUMULATIVE
    got = {p.attributes["comm"]: p.value for p in execs.points}
    names, counts = np.unique(comms, return_counts=True)
    assert got == {n.decode(): int(c) for n, c in zip(names, counts, strict=True)}
    wait = {(p.attributes["comm"], p.attributes["pid"]): p.value for p in sink.last("wait").points}
    for pid in range(1, 6):
        mask = pids == pid
        assert wait[(comms[mask][0].decode(), pid)] == pytest.approx(float(lat[mask].sum()))


@pytest.mark.parametrize("mode", ["last", "min", "max"])
async def test_gauge_reports_the_window(mode: str) -> None:
    proc, sink, _ = make(
        "aggregate", {"metrics": [{"name": "g", "type": "gauge", "field": "latency_ns", "gauge": mode}]}
    )
    await proc.consume(events([1, 1, 1], b"a", [5, 9, 2]))
    await proc.consume(events([1, 1], b"a", [7, 3]))
    await proc.flush()
    want = {"last": 3, "min": 2, "max": 9}[mode]
    assert [p.value for p in sink.last("g").points] == [want]
    await proc.flush()  # a window without data: the gauge has no value to report
    assert len([m for m in sink.metrics() if m.name == "g"]) == 1


async def test_histogram_buckets_are_upper_inclusive_and_cumulative() -> None:
    bounds = [1000.0, 4096.0, 65536.0, 1e6]
    proc, sink, _ = make(
        "aggregate",
        {"metrics": [{"name": "h", "type": "histogram", "field": "latency_ns", "bounds": bounds, "unit": "ns"}]},
    )
    _, _, lat = workload()
    lat[:3] = [1000, 4096, 65536]  # exactly on bounds: belong to the bucket they bound
    await proc.consume(events(np.ones(len(lat)), b"x", lat))
    await proc.flush()
    await proc.consume(events(np.ones(len(lat)), b"x", lat))
    await proc.flush()
    first, second = [m.points[0] for m in sink.metrics()]
    assert isinstance(second, HistogramPoint)
    want = [int(np.sum(lat <= bounds[0]))]
    want += [int(np.sum((lat > lo) & (lat <= hi))) for lo, hi in itertools.pairwise(bounds)]
    want.append(int(np.sum(lat > bounds[-1])))
    assert first.counts == want
    assert second.counts == [2 * c for c in want]
    assert second.sum == pytest.approx(2 * float(lat.sum()))
    assert (second.min, second.max) == (float(lat.min()), float(lat.max()))
    assert second.start_time_ns == first.start_time_ns < first.time_ns < second.time_ns


async def test_exponential_histogram_holds_every_value_in_its_bucket() -> None:
    proc, sink, _ = make(
        "aggregate",
        {"metrics": [{"name": "e", "type": "exponential_histogram", "field": "latency_ns", "max_size": 40}]},
    )
    _, _, lat = workload()
    values = np.concatenate([lat.astype(float), [0.0, 0.0]])
    batch = events(np.ones(len(values)), b"x", values)
    await proc.consume(batch.select(np.arange(len(values)) < 5000))
    await proc.consume(batch.select(np.arange(len(values)) >= 5000))
    await proc.flush()
    p = sink.last("e").points[0]
    assert isinstance(p, ExponentialHistogramPoint)
    assert len(p.positive_counts) <= 40 and p.zero_count == 2 and p.count == len(values)
    # The largest scale that fits: one more would need more than 40 buckets.
    positive = values[values > 0]
    idx = bk.exponential_indexes(positive, p.scale)
    assert bk.downscale_needed(int(idx.min()) * 2, int(idx.max()) * 2 + 1, 40) > 0
    want = np.bincount(idx - p.positive_offset, minlength=len(p.positive_counts))
    assert p.positive_counts == want.tolist()
    assert p.sum == pytest.approx(float(values.sum()))


async def test_summary_quantiles_sum_and_count_like_runq_microseconds() -> None:
    proc, sink, _ = make(
        "aggregate",
        {
            "metrics": [
                {
                    "name": "triangle_corp_runq_microseconds",
                    "type": "summary",
                    "field": "latency_ns",
                    "multiplier": 0.001,
                    "group_by": ["comm"],
                    "quantiles": [0, 0.25, 0.5, 1],
                }
            ]
        },
    )
    pids, comms, lat = workload()
    await proc.consume(events(pids, comms, lat))
    await proc.flush()
    points = by_attr(sink.last("triangle_corp_runq_microseconds").points, "comm")
    for name in ("nginx", "bash", "python3"):
        us = lat[comms == name.encode()] * 0.001
        p = points[name]
        assert isinstance(p, SummaryPoint)
        assert p.count == len(us) and p.sum == pytest.approx(us.sum())
        assert [q for q, _ in p.quantiles] == [0, 0.25, 0.5, 1]
        assert [v for _, v in p.quantiles] == pytest.approx(np.quantile(us, [0, 0.25, 0.5, 1]).tolist())
    await proc.consume(events([1, 1], b"bash", [1000, 3000]))
    await proc.flush()
    # sum and count are cumulative, quantiles describe the last window only
    again = by_attr(sink.last("triangle_corp_runq_microseconds").points, "comm")
    assert again["bash"].quantiles == [(0, 1.0), (0.25, 1.5), (0.5, 2.0), (1, 3.0)]
    assert again["bash"].count == points["bash"].count + 2
    assert math.isnan(again["nginx"].quantiles[0][1]) and again["nginx"].count == points["nginx"].count


async def test_summary_window_is_subsampled_beyond_max_samples() -> None:
    proc, sink, _ = make(
        "aggregate",
        {"metrics": [{"name": "s", "type": "summary", "field": "latency_ns", "max_samples": 1000}]},
    )
    values = np.arange(1, 100001)
    for chunk in np.split(values, 10):
        await proc.consume(events(np.ones(len(chunk)), b"x", chunk))
    await proc.flush()
    p = sink.last("s").points[0]
    assert p.count == 100000 and p.sum == float(values.sum())
    median = dict(p.quantiles)[0.5]
    assert 40000 < median < 60000  # a uniform sample of the whole window, not its first 1000 values


async def test_delta_temporality_and_start_times() -> None:
    proc, sink, _ = make("aggregate", {"temporality": "delta", "metrics": [{"name": "c", "type": "counter"}]})
    await proc.consume(events([1, 2], b"x", [1, 1]))
    await proc.flush()
    await proc.flush()  # nothing happened: no point
    await proc.consume(events([1], b"x", [1]))
    await proc.flush()
    first, second = [m.points[0] for m in sink.metrics()]
    assert sink.metrics()[0].temporality is Temporality.DELTA
    assert (first.value, second.value) == (2, 1)
    assert second.start_time_ns > first.time_ns  # the window after the empty one


async def test_restart_starts_a_new_series_never_a_lower_total() -> None:
    config = {"interval": "1h", "metrics": [{"name": "c", "type": "counter"}]}
    proc, sink, _ = make("aggregate", config)
    await proc.start()
    totals = []
    for n in (5, 3, 4):
        await proc.consume(events(np.ones(n), b"x", 1))
        await proc.flush()
        totals.append(sink.last("c").points[0])
    assert [p.value for p in totals] == [5, 8, 12]
    assert len({p.start_time_ns for p in totals}) == 1
    await proc.shutdown()
    restart_ns = now_ns()
    proc2, sink2, _ = make("aggregate", config)
    await proc2.start()
    await proc2.consume(events(np.ones(2), b"x", 1))
    await proc2.shutdown()  # flushes
    after = sink2.last("c").points[0]
    assert after.value == 2 and after.start_time_ns >= restart_ns  # a reset, seen as such by rate()


async def test_series_beyond_max_series_fold_into_overflow() -> None:
    proc, sink, telemetry = make(
        "aggregate", {"metrics": [{"name": "c", "type": "counter", "group_by": ["pid"], "max_series": 10}]}
    )
    pids = RNG.integers(0, 1000, 50000)
    await proc.consume(events(pids, b"x", 1))
    await proc.consume(events(pids, b"x", 1))
    await proc.flush()
    points = sink.last("c").points
    assert len(points) == 11
    overflow = [p for p in points if p.attributes == {"otel.metric.overflow": "true"}]
    assert len(overflow) == 1
    assert sum(p.value for p in points) == 100000
    telemetry.collect()
    assert telemetry.gauge("cardinality_series_limited", "").value(processor="aggregate", metric="c") == 990
    assert (
        telemetry.counter("cardinality_overflow_items", "").value(processor="aggregate", metric="c")
        == overflow[0].value
    )


async def test_idle_series_expire_and_come_back_with_a_new_start() -> None:
    proc, sink, _ = make(
        "aggregate", {"expire_after": "10ms", "metrics": [{"name": "c", "type": "counter", "group_by": ["pid"]}]}
    )
    await proc.consume(events([1, 2], b"x", 1))
    await proc.flush()
    await asyncio.sleep(0.05)
    await proc.consume(events([2], b"x", 1))
    await proc.flush()  # pid 1 still reported here (flush runs before expiry) ...
    await proc.flush()  # ... and forgotten now
    await proc.consume(events([1], b"x", 1))
    await proc.flush()
    last = {p.attributes["pid"]: p for p in sink.last("c").points}
    first = {p.attributes["pid"]: p for p in sink.metrics()[0].points}
    assert last[1].value == 1 and last[1].start_time_ns > first[1].start_time_ns
    assert last[2].value == 2 and last[2].start_time_ns == first[2].start_time_ns


async def test_metrics_pass_through_and_events_are_consumed() -> None:
    proc, sink, _ = make("aggregate", {"metrics": [{"name": "c", "type": "counter"}]})
    batch = MetricBatch([])
    await proc.consume(batch)
    await proc.consume(events([1], b"x", 1))
    assert sink.items == [batch]
    forwarding, sink2, _ = make("aggregate", {"forward_events": True, "metrics": [{"name": "c", "type": "counter"}]})
    ev = events([1], b"x", 1)
    await forwarding.consume(ev)
    assert sink2.items == [ev]


async def test_missing_group_by_is_an_empty_label_and_missing_field_is_skipped() -> None:
    proc, sink, telemetry = make(
        "aggregate",
        {
            "metrics": [
                {"name": "by_pod", "type": "counter", "group_by": ["k8s.pod.name"]},
                {"name": "from_other", "type": "counter", "source": "other"},
                {"name": "all", "type": "counter"},
                {"name": "bytes", "type": "counter", "field": "no_such_field"},
            ]
        },
    )
    await proc.consume(events([1, 2], b"x", 1))
    await proc.flush()
    metrics = {m.name: m for m in sink.metrics()}
    assert sorted(metrics) == ["all", "by_pod"]
    # no pod matched (the enricher added no column): counted under an empty pod name
    (point,) = metrics["by_pod"].points
    assert point.attributes == {"k8s.pod.name": ""} and point.value == 2  # type: ignore[union-attr]
    assert telemetry.counter("aggregate_skipped_batches", "").value(processor="aggregate", metric="bytes") == 1


async def test_columns_added_by_processors_group_like_fields() -> None:
    proc, sink, _ = make("aggregate", {"metrics": [{"name": "c", "type": "counter", "group_by": ["k8s.pod.name"]}]})
    batch = events([1, 2, 3], b"x", 1)
    batch.columns["k8s.pod.name"] = np.array(["web-1", "web-2", "web-1"], dtype=object)
    await proc.consume(batch)
    await proc.flush()
    assert {p.attributes["k8s.pod.name"]: p.value for p in sink.last("c").points} == {"web-1": 2, "web-2": 1}


def test_config_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="needs `field`"):
        AggregateConfig.model_validate({"metrics": [{"name": "h", "type": "histogram"}]})
    with pytest.raises(ValidationError, match="strictly increasing"):
        AggregateConfig.model_validate(
            {"metrics": [{"name": "h", "type": "histogram", "field": "x", "bounds": [2, 1]}]}
        )
    with pytest.raises(ValidationError, match="defined twice"):
        AggregateConfig.model_validate({"metrics": [{"name": "c", "type": "counter"}] * 2})
    with pytest.raises(ValidationError, match="quantiles"):
        AggregateConfig.model_validate({"metrics": [{"name": "s", "type": "summary", "field": "x", "quantiles": [2]}]})


async def test_big_batches_run_off_the_event_loop() -> None:
    proc, sink, _ = make("aggregate", {"metrics": [{"name": "c", "type": "counter", "group_by": ["pid"]}]})
    n = 200_000
    await proc.consume(events(RNG.integers(0, 100, n), b"x", 1))
    await proc.flush()
    assert sum(p.value for p in sink.last("c").points) == n
    assert all(isinstance(p, NumberPoint) for p in sink.last("c").points)


@pytest.mark.parametrize("kind", ["histogram", "exponential_histogram", "summary", "gauge"])
async def test_overflow_keeps_counts_for_every_kind(kind: str) -> None:
    spec = {"name": "m", "type": kind, "field": "latency_ns", "group_by": ["pid"], "max_series": 3}
    if kind == "exponential_histogram":
        spec["max_size"] = 20
    if kind == "gauge":
        spec["gauge"] = "max"
    proc, sink, _ = make("aggregate", {"metrics": [spec]})
    pids, _, lat = workload()
    await proc.consume(events(pids, b"x", lat))
    await proc.flush()
    points = {p.attributes.get("pid", "overflow"): p for p in sink.last("m").points}
    assert len(points) == 4
    others = ~np.isin(pids, [k for k in points if k != "overflow"])
    if kind == "gauge":
        assert points["overflow"].value == lat[others].max()
    else:
        assert points["overflow"].count == others.sum()
        assert points["overflow"].sum == pytest.approx(float(lat[others].sum()))
        assert sum(p.count for p in points.values()) == len(lat)
