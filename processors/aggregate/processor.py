from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from collector.component import ComponentContext, Processor
from collector.model import AttrValue, Data, EventBatch, Metric, MetricBatch, Temporality, now_ns
from processors.aggregate.aggregators import AGGREGATORS, Aggregator, Summary
from processors.aggregate.config import AggregateConfig, MetricSpec
from processors.aggregate.grouping import group_rows
from processors.aggregate.series import SeriesTable

# Batches at least this large are aggregated on a worker thread (numpy releases
# the GIL), so the event loop keeps serving receivers and scrapes meanwhile.
THREAD_ROWS = 65536

ResourceKey = tuple[tuple[str, AttrValue], ...]


@dataclass(slots=True)
class _MetricState:
    spec: MetricSpec
    table: SeriesTable
    agg: Aggregator


@dataclass(slots=True)
class _ResourceState:
    resource: dict[str, AttrValue]
    metrics: list[_MetricState] = field(default_factory=list)
    last_flush_ns: int = 0


class AggregateProcessor(Processor[AggregateConfig]):
    """Event batches in, metrics out every `interval` (and on shutdown). Metric
    batches pass through untouched; events are consumed unless forward_events."""

    def __init__(self, config: AggregateConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._resources: dict[ResourceKey, _ResourceState] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._started_ns = now_ns()
        telemetry = ctx.telemetry
        self._skipped = telemetry.counter(
            "aggregate_skipped_batches", "Event batches a metric could not use (missing fields)"
        )
        self._overflow = telemetry.counter(
            "cardinality_overflow_items", "Datapoints or events folded into an otel.metric.overflow series"
        )
        self._active = telemetry.gauge("cardinality_series_active", "Series kept per metric")
        self._limited = telemetry.gauge("cardinality_series_limited", "Series folded into overflow per metric")
        telemetry.on_collect(self._report)
        self._warned: set[tuple[str, str]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._flush_loop(), name=f"processor:{self.ctx.id}")

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval)
            await self.flush()

    async def consume(self, data: Data) -> None:
        if isinstance(data, MetricBatch):
            await self.next.consume(data)
            return
        if len(data):
            async with self._lock:
                if len(data) >= THREAD_ROWS:
                    await asyncio.to_thread(self.update, data)
                else:
                    self.update(data)
        if self.config.forward_events:
            await self.next.consume(data)

    def update(self, batch: EventBatch) -> None:
        """Fold one event batch into the state (synchronous; the hot path)."""
        state = self._resource(batch.resource)
        now, wall = time.monotonic(), now_ns()
        names = set(batch.field_names())
        for m in state.metrics:
            spec = m.spec
            if spec.source is not None and spec.source != batch.source:
                continue
            # A group_by attribute the batch lacks (no pod matched: k8s_metadata added no
            # columns) is an empty label; a missing value field makes the metric unusable.
            if spec.field is not None and spec.field not in names:
                self._skip(spec.name, batch.source, [spec.field])
                continue
            rows, groups = group_rows(batch, spec.group_by)
            slots, new = m.table.assign(groups, wall, now)
            m.agg.ensure(m.table.capacity)
            m.agg.clear(new)
            values = None
            if spec.field is not None:
                values = batch.column(spec.field).astype(np.float64)
                if spec.multiplier != 1.0:
                    values *= spec.multiplier
            m.agg.update(rows, slots, values)
            if m.table.limited:
                overflow = m.table.overflow_slot
                folded = int(np.count_nonzero(slots[rows] == overflow)) if overflow is not None else 0
                if folded:
                    self._overflow.add(folded, processor=str(self.ctx.id), metric=spec.name)

    def _skip(self, metric: str, source: str, missing: list[str]) -> None:
        self._skipped.add(processor=str(self.ctx.id), metric=metric)
        if (metric, source) not in self._warned:
            self._warned.add((metric, source))
            self.log.warning("metric %s: events from %s have no field %s; skipped", metric, source, missing[0])

    def _resource(self, resource: dict[str, AttrValue]) -> _ResourceState:
        key = tuple(sorted(resource.items()))
        state = self._resources.get(key)
        if state is None:
            state = self._resources[key] = _ResourceState(dict(resource), last_flush_ns=self._started_ns)
            for spec in self.config.metrics:
                agg = AGGREGATORS[spec.type](spec)
                state.metrics.append(_MetricState(spec, SeriesTable(spec.group_by, spec.max_series), agg))
        return state

    async def flush(self) -> None:
        """Emit the current points downstream, then start a new window."""
        async with self._lock:
            batches = self.collect()
        for batch in batches:
            await self.next.consume(batch)

    def collect(self) -> list[MetricBatch]:
        now, wall = time.monotonic(), now_ns()
        delta = self.config.temporality == "delta"
        out: list[MetricBatch] = []
        for state in self._resources.values():
            metrics: list[Metric] = []
            for m in state.metrics:
                if isinstance(m.agg, Summary):
                    m.agg.compute_window()
                points = []
                for slot in m.table.live_slots():
                    if m.agg.reports(slot, delta):
                        start = max(m.table.start_ns[slot], state.last_flush_ns) if delta else m.table.start_ns[slot]
                        points.append(m.agg.point(slot, dict(m.table.attrs[slot]), start, wall))
                m.agg.end_window(delta)
                m.agg.clear(m.table.expire(now - self.config.expire_after))
                if points:
                    spec = m.spec
                    temporality = Temporality.DELTA if delta else Temporality.CUMULATIVE
                    monotonic = spec.type == "counter" and spec.monotonic
                    metrics.append(
                        Metric(spec.name, m.agg.kind, points, spec.description, spec.unit, monotonic, temporality)
                    )
            state.last_flush_ns = wall
            if metrics:
                out.append(MetricBatch(metrics, resource=dict(state.resource)))
        return out

    def _report(self) -> None:
        series: dict[str, tuple[int, int]] = {}
        for state in self._resources.values():
            for m in state.metrics:
                active, limited = series.get(m.spec.name, (0, 0))
                series[m.spec.name] = (active + m.table.live, limited + len(m.table.limited))
        for name, (active, limited) in series.items():
            self._active.set(active, processor=str(self.ctx.id), metric=name)
            self._limited.set(limited, processor=str(self.ctx.id), metric=name)

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
