"""bench/processors: one million kernel events per batch through the processor
chain (k8s_metadata when built in, then aggregate into a histogram per pod, then
cardinality_limit), against recording the same events one by one into an
OpenTelemetry SDK histogram with the same attributes, in the same run.

    .venv/bin/python -m bench.processors [--batches 5] [--sdk-events 300000]

Targets (issue 4): at least 3 million events/s per core, at least 30x the SDK.
Stages are a list: a stage that is not available in this build is listed as
skipped, and the rest is measured."""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from collector.component import ComponentContext, ComponentId, Processor
from collector.model import Data, EventBatch, MetricBatch
from collector.registry import default_registry
from collector.telemetry import Telemetry

EVENTS_PER_BATCH = 1_000_000
PODS = 1000
PROCESSES = 5000
EVENT = np.dtype(
    [
        ("ts", "<u8"),
        ("pid", "<u4"),
        ("tgid", "<u4"),
        ("cgroup_id", "<u8"),
        ("latency_ns", "<u8"),
        ("comm", "S16"),
    ]
)
# Kernel-style log2 bounds, 1 µs .. 69 s in ns: each a kernel slot boundary.
BOUNDS = [float(2**k) for k in range(10, 37)]
GROUP_BY = ["cgroup_id"]

# (processor type, config). k8s_metadata comes first when the build has it; its
# columns (k8s.pod.name, ...) then join the group_by of the histogram.
K8S_STAGE: tuple[str, dict[str, Any]] = ("k8s_metadata", {})
STAGES: list[tuple[str, dict[str, Any]]] = [
    (
        "aggregate",
        {
            "interval": "1h",
            "metrics": [
                {
                    "name": "runq_latency",
                    "unit": "ns",
                    "type": "histogram",
                    "field": "latency_ns",
                    "bounds": BOUNDS,
                    "group_by": GROUP_BY,
                }
            ],
        },
    ),
    ("cardinality_limit", {"limit": 2000}),
]


def make_events(n: int, seed: int) -> EventBatch:
    rng = np.random.default_rng(seed)
    pid = rng.integers(0, PROCESSES, n)
    rec = np.zeros(n, EVENT)
    rec["ts"] = np.arange(n)
    rec["pid"] = rec["tgid"] = 1000 + pid
    rec["cgroup_id"] = 10_000 + pid % PODS  # each process lives in one pod's cgroup
    rec["latency_ns"] = rng.lognormal(9.5, 1.5, n).astype(np.uint64) + 1
    names = np.array([f"worker-{i % 97}".encode() for i in range(PROCESSES)])
    rec["comm"] = names[pid]
    return EventBatch("runqlat", rec, time.time_ns())


class Discard:
    def __init__(self) -> None:
        self.points = 0

    async def consume(self, data: Data) -> None:
        if isinstance(data, MetricBatch):
            self.points += data.datapoint_count()


@dataclass
class Stage:
    name: str
    processor: Processor[Any]
    cpu: float = 0.0
    wall: float = 0.0


@dataclass
class Chain:
    """The processors in order; each stage's own time is measured by timing its
    consume and subtracting the time spent in the next stage."""

    stages: list[Stage]
    skipped: list[str] = field(default_factory=list)
    sink: Discard = field(default_factory=Discard)


class _Timed:
    def __init__(self, stage: Stage, inner: Any) -> None:
        self.stage, self.inner = stage, inner

    async def consume(self, data: Data) -> None:
        c0, w0 = time.process_time(), time.perf_counter()
        await self.inner.consume(data)
        self.stage.cpu += time.process_time() - c0
        self.stage.wall += time.perf_counter() - w0


def build_chain() -> Chain:
    telemetry = Telemetry()
    wanted = list(STAGES)
    skipped = []
    if default_registry.has("processor", K8S_STAGE[0]):
        wanted.insert(0, K8S_STAGE)
    else:
        skipped.append(f"{K8S_STAGE[0]} (not in this build)")
    stages = []
    for type_, config in wanted:
        factory = default_registry.get("processor", type_)
        ctx = ComponentContext(ComponentId(type_), "processor", telemetry)
        try:
            processor = factory.create(factory.config_model.model_validate(config), ctx)
        except Exception as exc:  # a stage that cannot run here is reported, not fatal
            skipped.append(f"{type_} ({exc})")
            continue
        assert isinstance(processor, Processor)
        stages.append(Stage(type_, processor))
    chain = Chain(stages, skipped)
    nxt: Any = chain.sink
    for stage in reversed(stages):
        stage.processor.next = nxt
        nxt = _Timed(stage, stage.processor)
    return chain


async def run_chain(chain: Chain, batches: list[EventBatch]) -> tuple[float, float]:
    for stage in chain.stages:
        await stage.processor.start()
    head = _Timed(chain.stages[0], chain.stages[0].processor) if chain.stages else chain.sink
    # Time the chain stage by stage: the first stage's timer covers everything after it.
    c0, w0 = time.process_time(), time.perf_counter()
    for batch in batches:
        await head.consume(batch)
        for stage in chain.stages:  # one interval per batch: emit the histograms downstream
            flush = getattr(stage.processor, "flush", None)
            if stage.name == "aggregate" and flush is not None:
                await _Timed(stage, _Flush(flush)).consume(batch)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    for stage in chain.stages:
        await stage.processor.shutdown()
    return cpu, wall


class _Flush:
    def __init__(self, flush: Any) -> None:
        self.flush = flush

    async def consume(self, data: Data) -> None:
        await self.flush()


def run_sdk(batch: EventBatch, n: int) -> tuple[float, float, int]:
    """The same events recorded one by one into an SDK histogram (same bounds, same
    attributes; attribute dicts prepared once per pod, the SDK's best case)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader],
        views=[View(instrument_name="runq_latency", aggregation=ExplicitBucketHistogramAggregation(BOUNDS))],
    )
    histogram = provider.get_meter("bench").create_histogram("runq_latency", unit="ns")
    columns = [batch.column(name)[:n] for name in GROUP_BY]
    keys = list(zip(*(c.tolist() for c in columns), strict=True))
    latencies = batch.records["latency_ns"][:n].tolist()
    attrs = {key: dict(zip(GROUP_BY, (_attr(v) for v in key), strict=True)) for key in set(keys)}
    c0, w0 = time.process_time(), time.perf_counter()
    record = histogram.record
    for value, key in zip(latencies, keys, strict=True):
        record(value, attrs[key])
    data = reader.get_metrics_data()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    points = sum(len(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
    provider.shutdown()
    return cpu, wall, points


def _attr(value: Any) -> Any:
    return value.split(b"\0", 1)[0].decode() if isinstance(value, bytes) else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=5, help="batches of one million events")
    parser.add_argument("--sdk-events", type=int, default=300_000, help="events recorded through the SDK")
    parser.add_argument("--group-by", default=",".join(GROUP_BY), help="histogram attributes, e.g. cgroup_id,comm")
    args = parser.parse_args()
    GROUP_BY[:] = args.group_by.split(",")

    batches = [make_events(EVENTS_PER_BATCH, seed) for seed in range(args.batches)]
    total = EVENTS_PER_BATCH * args.batches
    warm = build_chain()
    asyncio.run(run_chain(warm, [make_events(50_000, 99)]))  # imports, first allocations

    chain = build_chain()
    cpu, wall = asyncio.run(run_chain(chain, batches))
    ours_per_core = total / cpu
    print(f"processors: {args.batches} batches x {EVENTS_PER_BATCH:,} events, {PODS} pods, {PROCESSES} processes")
    print(f"  histogram of latency_ns by {', '.join(GROUP_BY)}, {len(BOUNDS)} bounds")
    for note in chain.skipped:
        print(f"  skipped   {note}")
    own = _own_times(chain)
    for stage, (s_cpu, s_wall) in zip(chain.stages, own, strict=True):
        rate, ms = total / s_cpu / 1e6, s_wall * 1e3 / args.batches
        print(f"  {stage.name:<18} {rate:8.2f} M events/s per core   ({ms:7.1f} ms/batch)")
    print(f"  chain              {ours_per_core / 1e6:8.2f} M events/s per core   ({total / wall / 1e6:.2f} M/s wall)")
    print(f"  datapoints out     {chain.sink.points:,} (one interval per batch, and the shutdown flush)")

    n = min(args.sdk_events, EVENTS_PER_BATCH)
    sdk_cpu, _, sdk_points = run_sdk(batches[0], n)
    sdk_per_core = n / sdk_cpu
    print(f"opentelemetry-sdk histogram.record, {n:,} events one by one: {sdk_per_core / 1e6:.3f} M events/s per core")
    print(f"  ({sdk_points} series)")
    ratio = ours_per_core / sdk_per_core
    print(f"ratio chain / SDK: {ratio:.1f}x   (target >= 30x: {'met' if ratio >= 30 else 'NOT met'})")
    met = "met" if ours_per_core >= 3e6 else "NOT met"
    print(f"events/s per core: {ours_per_core / 1e6:.2f} M   (target >= 3 M: {met})")


def _own_times(chain: Chain) -> list[tuple[float, float]]:
    """Each stage's time without the stages after it."""
    out = []
    for i, stage in enumerate(chain.stages):
        after = chain.stages[i + 1] if i + 1 < len(chain.stages) else None
        cpu = stage.cpu - (after.cpu if after else 0.0)
        wall = stage.wall - (after.wall if after else 0.0)
        out.append((max(cpu, 1e-9), max(wall, 1e-9)))
    return out


if __name__ == "__main__":
    main()
