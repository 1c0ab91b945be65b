from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np

from collector.component import Processor
from collector.model import AttrValue, Data, EventBatch, Metric, MetricBatch
from processors.aggregate.grouping import factorize
from processors.attributes.config import AttributesConfig

Array = np.ndarray[Any, Any]


def sha256_text(value: AttrValue) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


class AttributesProcessor(Processor[AttributesConfig]):
    """Never mutates what it receives (a batch may be shared with other pipelines):
    changed points and event batches are new objects."""

    async def consume(self, data: Data) -> None:
        data = self.apply_metrics(data) if isinstance(data, MetricBatch) else self.apply_events(data)
        await self.next.consume(data)

    # -- metric points: per point (series), not per event

    def apply_metrics(self, batch: MetricBatch) -> MetricBatch:
        wanted = set(self.config.metrics) if self.config.metrics is not None else None
        metrics = []
        for m in batch.metrics:
            if wanted is not None and m.name not in wanted:
                metrics.append(m)
                continue
            points = [dataclasses.replace(p, attributes=self._edit(dict(p.attributes))) for p in m.points]
            metrics.append(Metric(m.name, m.kind, points, m.description, m.unit, m.monotonic, m.temporality))
        return MetricBatch(metrics, batch.resource, batch.scope)

    def _edit(self, attrs: dict[str, AttrValue]) -> dict[str, AttrValue]:
        for a in self.config.actions:
            present = a.key in attrs
            if a.action in ("insert", "update", "upsert"):
                if (a.action == "insert" and present) or (a.action == "update" and not present):
                    continue
                value = a.value if a.from_attribute is None else attrs.get(a.from_attribute)
                if value is not None:
                    attrs[a.key] = value
            elif not present:
                continue
            elif a.action == "delete":
                del attrs[a.key]
            elif a.action == "rename":
                assert a.new_key is not None
                attrs[a.new_key] = attrs.pop(a.key)
            elif a.action == "hash":
                attrs[a.key] = sha256_text(attrs[a.key])
        return attrs

    # -- events: whole columns

    def apply_events(self, batch: EventBatch) -> EventBatch:
        records, columns = batch.records, dict(batch.columns)
        for a in self.config.actions:
            names = list(records.dtype.names or ()) + list(columns)
            present = a.key in names
            if a.action in ("insert", "update", "upsert"):
                if (a.action == "insert" and present) or (a.action == "update" and not present):
                    continue
                if a.from_attribute is not None:
                    if a.from_attribute not in names:
                        continue
                    column = _column(records, columns, a.from_attribute)
                else:
                    column = np.full(len(records), a.value)
                records = _without(records, a.key)
                columns[a.key] = column
            elif not present:
                continue
            elif a.action == "delete":
                records, _ = _without(records, a.key), columns.pop(a.key, None)
            elif a.action == "rename":
                assert a.new_key is not None
                column = _column(records, columns, a.key)
                records, _ = _without(records, a.key), columns.pop(a.key, None)
                records = _without(records, a.new_key)
                columns[a.new_key] = column
            elif a.action == "hash":
                columns[a.key] = _hash_column(_column(records, columns, a.key))
                records = _without(records, a.key)
        return EventBatch(batch.source, records, batch.time_ns, dict(batch.resource), columns)


def _column(records: Array, columns: dict[str, Array], name: str) -> Array:
    return columns[name] if name in columns else records[name]


def _without(records: Array, name: str) -> Array:
    """The records without one field (a view: no copy of the data)."""
    names = records.dtype.names or ()
    if name not in names:
        return records
    return records[[n for n in names if n != name]]


def _hash_column(column: Array) -> Array:
    """SHA-256 of each distinct value once, spread back over the rows."""
    codes, values = factorize(column)
    digests = np.array([sha256_text(v) for v in values], dtype="U64")
    result: Array = digests[codes]
    return result
