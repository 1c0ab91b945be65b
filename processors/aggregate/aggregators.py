"""Per-metric aggregation state, updated from whole columns.

Each aggregator keeps numpy arrays indexed by series slot. `update` receives, for
the rows of one batch, the local group id of each row (`rows`), the slot of each
local group (`slots`) and the values; it reduces per local group with bincount /
ufunc.at and adds the result into the slots, so Python work is per group."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from collector.model import (
    ExponentialHistogramPoint,
    HistogramPoint,
    MetricKind,
    NumberPoint,
    Point,
    SummaryPoint,
)
from collector.model import buckets as bk
from processors.aggregate.config import DEFAULT_BOUNDS, MetricSpec

Array = np.ndarray[Any, Any]


class Aggregator:
    kind: MetricKind

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        self.capacity = 0
        self.touched = np.zeros(0, dtype=bool)  # had data since the last flush

    def ensure(self, capacity: int) -> None:
        if capacity > self.capacity:
            new = max(capacity, 2 * self.capacity, 16)
            self._grow(new)
            self.touched = _grown(self.touched, new, False)
            self.capacity = new

    def update(self, rows: Array, slots: Array, values: Array | None) -> None:
        self.touched[slots] = True
        self._update(rows, slots, len(slots), values)

    def clear(self, slots: list[int]) -> None:
        """Slots that are new or freed: zero their state."""
        if slots:
            self.touched[slots] = False
            self._clear(slots)

    def end_window(self, delta: bool) -> None:
        """After a flush: the window restarts; delta temporality also restarts the totals."""
        if delta:
            self._clear(np.flatnonzero(self.touched).tolist())
        self.touched[:] = False

    def reports(self, slot: int, delta: bool) -> bool:
        """Whether a slot gets a point this flush: cumulative series always, delta ones when touched."""
        return bool(self.touched[slot]) or not delta

    def point(self, slot: int, attrs: dict[str, Any], start_ns: int, now_ns: int) -> Point:
        raise NotImplementedError

    def _grow(self, capacity: int) -> None:
        raise NotImplementedError

    def _clear(self, slots: list[int]) -> None:
        raise NotImplementedError

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        raise NotImplementedError


def _grown(arr: Array, capacity: int, fill: Any) -> Array:
    out = np.full((capacity, *arr.shape[1:]), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


class Counter(Aggregator):
    kind = MetricKind.SUM

    def __init__(self, spec: MetricSpec) -> None:
        super().__init__(spec)
        self.counting = spec.field is None
        self.total = np.zeros(0, dtype=np.int64 if self.counting else np.float64)

    def _grow(self, capacity: int) -> None:
        self.total = _grown(self.total, capacity, 0)

    def _clear(self, slots: list[int]) -> None:
        self.total[slots] = 0

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        local = np.bincount(rows, weights=values, minlength=groups)
        np.add.at(self.total, slots, local if values is not None else local.astype(np.int64))

    def point(self, slot: int, attrs: dict[str, Any], start_ns: int, now_ns: int) -> Point:
        return NumberPoint(attrs, self.total[slot].item(), start_ns, now_ns)


class Gauge(Aggregator):
    """last / min / max of the values seen in the window; series without data in a
    window report nothing (a gauge has no value for a time it was not measured)."""

    kind = MetricKind.GAUGE

    def __init__(self, spec: MetricSpec) -> None:
        super().__init__(spec)
        self.mode = spec.gauge
        self.value = np.zeros(0, dtype=np.float64)

    def _grow(self, capacity: int) -> None:
        self.value = _grown(self.value, capacity, math.nan)

    def _clear(self, slots: list[int]) -> None:
        self.value[slots] = math.nan

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        assert values is not None
        if self.mode == "last":
            # Per slot, the batch's last row (several groups may share the overflow slot).
            last_row = np.full(self.capacity, -1, dtype=np.int64)
            np.maximum.at(last_row, slots[rows], np.arange(len(rows), dtype=np.int64))
            hit = np.flatnonzero(last_row >= 0)
            self.value[hit] = values[last_row[hit]]
            return
        op, init = (np.minimum, math.inf) if self.mode == "min" else (np.maximum, -math.inf)
        local = np.full(groups, init)
        op.at(local, rows, values)
        current = np.where(np.isnan(self.value), init, self.value)
        op.at(current, slots, local)
        hit = np.unique(slots)
        self.value[hit] = current[hit]

    def end_window(self, delta: bool) -> None:
        self.value[self.touched] = math.nan
        self.touched[:] = False

    def reports(self, slot: int, delta: bool) -> bool:
        return bool(self.touched[slot])

    def point(self, slot: int, attrs: dict[str, Any], start_ns: int, now_ns: int) -> Point:
        return NumberPoint(attrs, float(self.value[slot]), start_ns, now_ns)


class _MinMaxSum(Aggregator):
    def __init__(self, spec: MetricSpec) -> None:
        super().__init__(spec)
        self.sum = np.zeros(0)
        self.min = np.zeros(0)
        self.max = np.zeros(0)

    def _grow(self, capacity: int) -> None:
        self.sum = _grown(self.sum, capacity, 0.0)
        self.min = _grown(self.min, capacity, math.inf)
        self.max = _grown(self.max, capacity, -math.inf)

    def _clear(self, slots: list[int]) -> None:
        self.sum[slots], self.min[slots], self.max[slots] = 0.0, math.inf, -math.inf

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        assert values is not None
        np.add.at(self.sum, slots, np.bincount(rows, weights=values, minlength=groups))
        low, high = np.full(groups, math.inf), np.full(groups, -math.inf)
        np.minimum.at(low, rows, values)
        np.maximum.at(high, rows, values)
        np.minimum.at(self.min, slots, low)
        np.maximum.at(self.max, slots, high)

    def _min_max(self, slot: int) -> tuple[float | None, float | None]:
        low = float(self.min[slot])
        return (None, None) if math.isinf(low) else (low, float(self.max[slot]))


class Histogram(_MinMaxSum):
    kind = MetricKind.HISTOGRAM

    def __init__(self, spec: MetricSpec) -> None:
        super().__init__(spec)
        self.bounds = tuple(spec.bounds if spec.bounds is not None else DEFAULT_BOUNDS)
        self._bounds = np.asarray(self.bounds, dtype=np.float64)
        self.width = len(self.bounds) + 1
        self.counts = np.zeros((0, self.width), dtype=np.int64)

    def _grow(self, capacity: int) -> None:
        super()._grow(capacity)
        self.counts = _grown(self.counts, capacity, 0)

    def _clear(self, slots: list[int]) -> None:
        super()._clear(slots)
        self.counts[slots] = 0

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        assert values is not None
        super()._update(rows, slots, groups, values)
        flat = rows * self.width + bk.explicit_buckets(values, self._bounds)
        np.add.at(self.counts, slots, np.bincount(flat, minlength=groups * self.width).reshape(groups, self.width))

    def point(self, slot: int, attrs: dict[str, Any], start_ns: int, now_ns: int) -> Point:
        low, high = self._min_max(slot)
        counts = self.counts[slot].tolist()
        return HistogramPoint(attrs, self.bounds, counts, float(self.sum[slot]), start_ns, now_ns, low, high)


@dataclass(slots=True)
class _Buckets:
    offset: int = 0
    counts: Array = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(slots=True)
class _ExpState:
    scale: int
    positive: _Buckets = field(default_factory=_Buckets)
    negative: _Buckets = field(default_factory=_Buckets)
    zero: int = 0


class ExponentialHistogram(_MinMaxSum):
    """OTel exponential histogram. Values are indexed at `max_scale`; each series
    then keeps the largest scale at which its whole range fits in `max_size`
    buckets, downscaling (merging neighbour buckets) when a new value widens it."""

    kind = MetricKind.EXPONENTIAL_HISTOGRAM

    def __init__(self, spec: MetricSpec) -> None:
        super().__init__(spec)
        self.states: list[_ExpState] = []

    def _grow(self, capacity: int) -> None:
        super()._grow(capacity)
        self.states.extend(_ExpState(self.spec.max_scale) for _ in range(capacity - len(self.states)))

    def _clear(self, slots: list[int]) -> None:
        super()._clear(slots)
        for slot in slots:
            self.states[slot] = _ExpState(self.spec.max_scale)

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        assert values is not None
        super()._update(rows, slots, groups, values)
        zero = np.bincount(rows[values == 0], minlength=groups)
        for g in np.flatnonzero(zero).tolist():
            self.states[slots[g]].zero += int(zero[g])
        for sign in (1, -1):
            mask = values > 0 if sign == 1 else values < 0
            if mask.any():
                self._add_side(rows[mask], slots, groups, np.abs(values[mask]), sign == 1)

    def _add_side(self, rows: Array, slots: Array, groups: int, values: Array, positive: bool) -> None:
        top = self.spec.max_scale
        idx = bk.exponential_indexes(values, top)
        low = np.full(groups, np.iinfo(np.int64).max)
        high = np.full(groups, np.iinfo(np.int64).min)
        np.minimum.at(low, rows, idx)
        np.maximum.at(high, rows, idx)
        present = np.flatnonzero(low <= high)
        # Per group (not per row): the scale at which old and new ranges fit together.
        for g in present.tolist():
            state = self.states[slots[g]]
            side = state.positive if positive else state.negative
            lo, hi = int(low[g]) >> (top - state.scale), int(high[g]) >> (top - state.scale)
            if len(side.counts):
                lo, hi = min(lo, side.offset), max(hi, side.offset + len(side.counts) - 1)
            extra = bk.downscale_needed(lo, hi, self.spec.max_size)
            if extra:
                self._downscale(state, extra)
        # After all downscaling (groups folded into the overflow slot share one state).
        shift = np.zeros(groups, dtype=np.int64)
        for g in present.tolist():
            shift[g] = top - self.states[slots[g]].scale
        scaled = idx >> shift[rows]
        lows = np.full(groups, np.iinfo(np.int64).max)
        np.minimum.at(lows, rows, scaled)
        widths = np.zeros(groups, dtype=np.int64)
        np.maximum.at(widths, rows, scaled - lows[rows] + 1)
        bases = np.concatenate(([0], np.cumsum(widths)[:-1]))
        flat = np.bincount(bases[rows] + scaled - lows[rows], minlength=int(widths.sum()))
        for g in present.tolist():
            state = self.states[slots[g]]
            side = state.positive if positive else state.negative
            chunk = flat[bases[g] : bases[g] + widths[g]]
            side.offset, side.counts = bk.add_counts(side.offset, side.counts, int(lows[g]), chunk)
            extra = bk.downscale_needed(side.offset, side.offset + len(side.counts) - 1, self.spec.max_size)
            if extra:  # several groups merged into one (overflow) state
                self._downscale(state, extra)

    @staticmethod
    def _downscale(state: _ExpState, shift: int) -> None:
        state.scale -= shift
        for side in (state.positive, state.negative):
            side.offset, side.counts = bk.downscale_counts(side.offset, side.counts, shift)

    def point(self, slot: int, attrs: dict[str, Any], start_ns: int, now_ns: int) -> Point:
        s = self.states[slot]
        low, high = self._min_max(slot)
        return ExponentialHistogramPoint(
            attrs,
            s.scale,
            s.zero,
            s.positive.offset,
            s.positive.counts.tolist(),
            float(self.sum[slot]),
            start_ns,
            now_ns,
            s.negative.offset,
            s.negative.counts.tolist(),
            low,
            high,
        )


class Summary(Aggregator):
    """Cumulative sum and count; quantiles over the values of the current window
    (exact up to `max_samples` values per window, a uniform subsample beyond)."""

    kind = MetricKind.SUMMARY

    def __init__(self, spec: MetricSpec) -> None:
        super().__init__(spec)
        self.count = np.zeros(0, dtype=np.int64)
        self.sum = np.zeros(0)
        self.window: list[tuple[Array, Array]] = []  # (slot per value, value)
        self.window_size = 0
        self.window_seen = 0
        self.quantiles: dict[int, list[tuple[float, float]]] = {}
        self._rng = np.random.default_rng()

    def _grow(self, capacity: int) -> None:
        self.count = _grown(self.count, capacity, 0)
        self.sum = _grown(self.sum, capacity, 0.0)

    def _clear(self, slots: list[int]) -> None:
        self.count[slots], self.sum[slots] = 0, 0.0

    def _update(self, rows: Array, slots: Array, groups: int, values: Array | None) -> None:
        assert values is not None
        np.add.at(self.count, slots, np.bincount(rows, minlength=groups))
        np.add.at(self.sum, slots, np.bincount(rows, weights=values, minlength=groups))
        row_slots = slots[rows]
        self.window_seen += len(values)
        room = self.spec.max_samples - self.window_size
        if len(values) > room:
            # Keep a uniform sample of everything seen this window: each kept value
            # stands for window_seen / max_samples values.
            keep_new = round(self.spec.max_samples * len(values) / self.window_seen)
            self._shrink(self.spec.max_samples - keep_new)
            pick = self._rng.choice(len(values), size=keep_new, replace=False)
            row_slots, values = row_slots[pick], values[pick]
        self.window.append((row_slots, values))
        self.window_size += len(values)

    def _shrink(self, keep: int) -> None:
        if self.window_size <= keep:
            return
        slots = np.concatenate([s for s, _ in self.window])
        values = np.concatenate([v for _, v in self.window])
        pick = self._rng.choice(len(values), size=keep, replace=False)
        self.window, self.window_size = [(slots[pick], values[pick])], keep

    def compute_window(self) -> None:
        """Quantiles of this window's values per slot, before the points are built."""
        self.quantiles = {}
        if not self.window:
            return
        slots = np.concatenate([s for s, _ in self.window])
        values = np.concatenate([v for _, v in self.window])
        order = np.lexsort((values, slots))
        slots, values = slots[order], values[order]
        uniq, starts, counts = np.unique(slots, return_index=True, return_counts=True)
        per_q = [bk.quantiles_sorted(values, starts, counts, q) for q in self.spec.quantiles]
        for i, slot in enumerate(uniq.tolist()):
            self.quantiles[slot] = [(q, float(v[i])) for q, v in zip(self.spec.quantiles, per_q, strict=True)]

    def end_window(self, delta: bool) -> None:
        super().end_window(delta)
        self.window, self.window_size, self.window_seen = [], 0, 0

    def point(self, slot: int, attrs: dict[str, Any], start_ns: int, now_ns: int) -> Point:
        quantiles = self.quantiles.get(slot) or [(q, math.nan) for q in self.spec.quantiles]
        return SummaryPoint(attrs, quantiles, float(self.sum[slot]), int(self.count[slot]), start_ns, now_ns)


AGGREGATORS: dict[str, type[Aggregator]] = {
    "counter": Counter,
    "gauge": Gauge,
    "histogram": Histogram,
    "exponential_histogram": ExponentialHistogram,
    "summary": Summary,
}
