from __future__ import annotations

import time
from dataclasses import dataclass, field

from collector.component import ComponentContext, Processor
from collector.model import (
    AttrValue,
    Data,
    Metric,
    MetricBatch,
    MetricKind,
    Point,
    Temporality,
    now_ns,
)
from processors.cardinality_limit.config import CardinalityLimitConfig, MetricLimit
from processors.cardinality_limit.merge import Incompatible, accumulate, increment, snapshot

SeriesKey = tuple[tuple[str, AttrValue], ...]
OVERFLOW: SeriesKey = (("otel.metric.overflow", "true"),)


@dataclass(slots=True)
class _Folded:
    """A limited source series: where it goes, and (cumulative input) its last point."""

    target: SeriesKey | None  # None: dropped
    last_seen: float
    last: Point | None = None


@dataclass(slots=True)
class _Target:
    """A series made of folded ones (the overflow series, or an attribute-dropped one)."""

    start_ns: int
    last_seen: float
    point: Point | None = None
    touched: bool = False


@dataclass(slots=True)
class _MetricState:
    settings: MetricLimit
    active: dict[SeriesKey, float] = field(default_factory=dict)  # kept series -> last seen
    # Limited series by hash of their key: a compact entry each, never their attributes.
    folded: dict[int, _Folded] = field(default_factory=dict)
    targets: dict[SeriesKey, _Target] = field(default_factory=dict)

    def reduced(self) -> int:
        """Series made by dropping an attribute (they have a budget of `limit` of their own)."""
        return sum(1 for k in self.targets if k != OVERFLOW)

    def series(self) -> int:
        return len(self.active) + self.reduced()


class CardinalityLimitProcessor(Processor[CardinalityLimitConfig]):
    """At most `limit` series per metric. A series beyond the limit keeps being
    limited until it has been idle for `expire_after` (so a cumulative series never
    jumps between its own series and the overflow one, which would count it twice).
    Event batches pass through: they have no series."""

    def __init__(self, config: CardinalityLimitConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._metrics: dict[str, _MetricState] = {}
        self._next_expiry = time.monotonic() + config.expire_after / 10
        t = ctx.telemetry
        self._overflow = t.counter(
            "cardinality_overflow_items", "Datapoints or events folded into an otel.metric.overflow series"
        )
        self._dropped = t.counter("cardinality_dropped_items", "Datapoints dropped by a cardinality limit")
        self._active = t.gauge("cardinality_series_active", "Series kept per metric")
        self._limited = t.gauge("cardinality_series_limited", "Series folded into overflow per metric")
        t.on_collect(self._report)
        ctx.notices.on_gone(self.forget)

    async def consume(self, data: Data) -> None:
        if isinstance(data, MetricBatch):
            data = self.limit(data)
        await self.next.consume(data)

    def limit(self, batch: MetricBatch) -> MetricBatch:
        now = time.monotonic()
        if now >= self._next_expiry:
            self.expire(now - self.config.expire_after)
            self._next_expiry = now + self.config.expire_after / 10
        metrics = [self._limit_metric(m, now) for m in batch.metrics]
        return MetricBatch(metrics, batch.resource, batch.scope)

    def _limit_metric(self, metric: Metric, now: float) -> Metric:
        state = self._metrics.get(metric.name)
        if state is None:
            state = self._metrics[metric.name] = _MetricState(self.config.for_metric(metric.name))
        limit = state.settings.limit or self.config.limit
        cumulative = metric.temporality is Temporality.CUMULATIVE and metric.kind is not MetricKind.GAUGE
        kept: list[Point] = []
        pid = str(self.ctx.id)
        for point in metric.points:
            key = tuple(sorted(point.attributes.items()))
            if key in state.active:
                state.active[key] = now
                kept.append(point)
                continue
            h = hash(key)
            folded = state.folded.get(h)
            if folded is None:
                if len(state.active) < limit:
                    state.active[key] = now
                    kept.append(point)
                    continue
                folded = state.folded[h] = _Folded(self._target_for(state, key, limit, now), now)
            folded.last_seen = now
            if folded.target is None:
                self._dropped.add(1, processor=pid, metric=metric.name)
                continue
            if folded.target == OVERFLOW:
                self._overflow.add(1, processor=pid, metric=metric.name)
            target = state.targets[folded.target]
            target.last_seen, target.touched = now, True
            inc = increment(point, folded.last) if cumulative else point
            if cumulative:
                folded.last = snapshot(point)
            try:
                target.point = accumulate(
                    target.point, inc, dict(folded.target), target.start_ns, metric.kind is MetricKind.GAUGE
                )
            except Incompatible as exc:
                self._dropped.add(1, processor=pid, metric=metric.name)
                self.log.warning("metric %s: %s; point dropped", metric.name, exc)
        for target in state.targets.values():
            # Cumulative targets report every time the metric does, so they stay alive downstream.
            if target.point is not None and (target.touched or cumulative):
                kept.append(target.point)
            if not cumulative:
                target.point = None
            target.touched = False
        return Metric(
            metric.name,
            metric.kind,
            kept,
            metric.description,
            metric.unit,
            metric.monotonic,
            metric.temporality,
        )

    def _target_for(self, state: _MetricState, key: SeriesKey, limit: int, now: float) -> SeriesKey | None:
        action = state.settings.action
        if action == "drop":
            return None
        target = OVERFLOW
        if action == "drop_attribute":
            reduced = tuple(kv for kv in key if kv[0] != state.settings.drop_attribute)
            if reduced in state.targets or (reduced != key and state.reduced() < limit):
                target = reduced
        if target not in state.targets:
            state.targets[target] = _Target(now_ns(), now)
        return target

    def expire(self, cutoff: float) -> None:
        """Forget series idle since `cutoff` (monotonic seconds); their slots are free again."""
        for state in self._metrics.values():
            state.active = {k: t for k, t in state.active.items() if t >= cutoff}
            state.folded = {h: f for h, f in state.folded.items() if f.last_seen >= cutoff}
            state.targets = {k: t for k, t in state.targets.items() if t.last_seen >= cutoff}

    def forget(self, attribute: str, value: AttrValue) -> None:
        """Notice hook (ctx.notices.gone): series carrying attribute=value are gone
        (a deleted pod, an exited process); free their slots now. Limited series are
        kept only as hashes, so they still leave through expiry."""
        for state in self._metrics.values():
            state.active = {k: t for k, t in state.active.items() if (attribute, value) not in k}

    def _report(self) -> None:
        pid = str(self.ctx.id)
        for name, state in self._metrics.items():
            self._active.set(state.series(), processor=pid, metric=name)
            self._limited.set(len(state.folded), processor=pid, metric=name)
