"""Processor `filter`.

Events: each condition becomes a boolean mask over the batch. Numeric columns
compare directly (vectorised); text columns are tested once per distinct value
(the dictionary encoding enrichers attach, or numpy.unique) and the answer is
spread to rows by their codes, so a regex runs a few hundred times per batch,
not a million. Metrics: each point is tested, with answers memoised per value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from collector.component import ComponentContext, Processor
from collector.model import AttrValue, Data, EventBatch, Metric, MetricBatch
from processors.filter.config import Condition, FilterConfig


class _Test:
    """A compiled condition: a per-value predicate plus vectorised paths."""

    def __init__(self, condition: Condition) -> None:
        self.equals = condition.equals
        self.members = None if condition.in_ is None else set(condition.in_)
        self.regex = None if condition.regex is None else re.compile(condition.regex)
        self._memo: dict[AttrValue, bool] = {}

    def value(self, value: AttrValue) -> bool:
        found = self._memo.get(value)
        if found is None:
            found = self._memo[value] = self._test(value)
            if len(self._memo) > 65536:  # unbounded label values must not grow memory
                self._memo.clear()
        return found

    def _test(self, value: AttrValue) -> bool:
        if self.regex is not None:
            return self.regex.search(_text(value)) is not None
        wanted = [self.equals] if self.members is None else self.members
        return any(_same(value, w) for w in wanted)

    def column(self, batch: EventBatch, name: str) -> np.ndarray[Any, Any]:
        col = batch.column(name)
        wanted = [self.equals] if self.members is None else list(self.members)
        if col.ndim > 1:  # an array inside each event (e.g. stack ids): tested as its text
            return np.fromiter((self.value(" ".join(map(str, row))) for row in col.tolist()), np.bool_, len(col))
        if col.dtype.kind in "iufb" and self.regex is None:
            numbers = [n for n in (_number(w) for w in wanted) if n is not None]
            return np.isin(col, numbers) if numbers else np.zeros(len(col), np.bool_)
        if col.dtype.kind == "S" and self.regex is None and name not in batch.codes:
            # C strings: compare bytes directly (numpy ignores the trailing NULs)
            return np.isin(col, [_text(w).encode() for w in wanted if w is not None])
        codes, values = batch.factorize(name)
        ok = np.fromiter((self.value(_python(v)) for v in values), np.bool_, len(values))
        rows: np.ndarray[Any, Any] = ok[codes]
        return rows


class FilterProcessor(Processor[FilterConfig]):
    def __init__(self, config: FilterConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.include = {name: _Test(c) for name, c in config.include.items()}
        self.exclude = {name: _Test(c) for name, c in config.exclude.items()}
        self._dropped = ctx.telemetry.counter("filter_dropped_items", "Events or datapoints a filter dropped")
        self._labels = {"processor": str(ctx.id)}

    async def consume(self, data: Data) -> None:
        out = self.filter_events(data) if isinstance(data, EventBatch) else self.filter_metrics(data)
        dropped = len(data) - (len(out) if out is not None else 0)
        if dropped:
            self._dropped.add(dropped, **self._labels)
        if out is not None and len(out):
            await self.next.consume(out)

    # --- events --------------------------------------------------------------------

    def filter_events(self, batch: EventBatch) -> EventBatch:
        keep = np.ones(len(batch), np.bool_)
        if self.include:
            keep &= self._all(batch, self.include)
        if self.exclude:
            keep &= ~self._all(batch, self.exclude)
        return batch if keep.all() else batch.select(keep)

    def _all(self, batch: EventBatch, tests: dict[str, _Test]) -> np.ndarray[Any, Any]:
        names = set(batch.field_names())
        mask = np.ones(len(batch), np.bool_)
        for name, test in tests.items():
            if name in names:
                mask &= test.column(batch, name)
            elif name in batch.resource:
                mask &= test.value(batch.resource[name])
            else:
                mask[:] = False
            if not mask.any():
                break
        return mask

    # --- metrics -------------------------------------------------------------------

    def filter_metrics(self, batch: MetricBatch) -> MetricBatch | None:
        metrics: list[Metric] = []
        changed = False
        for metric in batch.metrics:
            points = [p for p in metric.points if self._keep(p.attributes, batch.resource)]
            if len(points) != len(metric.points):
                changed = True
            if points:
                metrics.append(
                    metric if len(points) == len(metric.points) else dataclasses.replace(metric, points=points)
                )
        if not changed:
            return batch
        return MetricBatch(metrics, dict(batch.resource), batch.scope) if metrics else None

    def _keep(self, attributes: Mapping[str, AttrValue], resource: Mapping[str, AttrValue]) -> bool:
        if self.include and not _matches(self.include, attributes, resource):
            return False
        return not (self.exclude and _matches(self.exclude, attributes, resource))


def _matches(tests: dict[str, _Test], attributes: Mapping[str, AttrValue], resource: Mapping[str, AttrValue]) -> bool:
    for name, test in tests.items():
        value = attributes.get(name)
        if value is None:
            value = resource.get(name)
        if value is None or not test.value(value):
            return False
    return True


def _text(value: AttrValue) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _same(value: AttrValue, wanted: AttrValue | None) -> bool:
    """Equality across the types YAML and kernels produce: 42 == "42", "true" == True."""
    if value == wanted and type(value) is type(wanted):
        return True
    return wanted is not None and _text(value) == _text(wanted)


def _number(value: AttrValue | None) -> int | float | None:
    """A config value as a number to compare with a numeric column (ints stay exact:
    cgroup ids exceed a float's precision)."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int | float):
        return value
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            continue
    return None


def _python(value: Any) -> AttrValue:
    """A distinct column value as an attribute value (C strings stop at their first NUL)."""
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    if isinstance(value, np.generic):
        item: AttrValue = value.item()
        return item
    return value  # type: ignore[no-any-return]
