"""Kernel events as columns: one numpy structured array per batch, never one
Python object per event on the hot path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from collector.model.metrics import AttrValue


@dataclass(slots=True)
class EventBatch:
    """A batch of events from one source. `records` is a structured array whose
    dtype mirrors the kernel's event struct. `columns` holds extra per-row
    attributes added by processors (e.g. k8s.pod.name), each an array of len(records)."""

    source: str
    records: np.ndarray[Any, Any]
    time_ns: int
    resource: dict[str, AttrValue] = field(default_factory=dict)
    columns: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def field_names(self) -> list[str]:
        return list(self.records.dtype.names or ()) + list(self.columns)

    def column(self, name: str) -> np.ndarray[Any, Any]:
        if name in self.columns:
            return self.columns[name]
        return self.records[name]

    def select(self, mask: np.ndarray[Any, Any]) -> EventBatch:
        """Rows where mask is true, keeping extra columns aligned."""
        return EventBatch(
            source=self.source,
            records=self.records[mask],
            time_ns=self.time_ns,
            resource=dict(self.resource),
            columns={k: v[mask] for k, v in self.columns.items()},
        )

    def rows(self) -> Iterator[dict[str, AttrValue]]:
        """Per-row dicts, for exporters at the edge (JSON, OTLP logs); not for the hot path."""
        names = self.field_names()
        cols = [_python_values(self.column(n)) for n in names]
        for values in zip(*cols, strict=True):
            yield dict(zip(names, values, strict=True))


def _python_values(col: np.ndarray[Any, Any]) -> list[AttrValue]:
    if col.dtype.kind == "S":  # fixed-size C char arrays: stop at the first NUL
        return [bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace") for v in col]
    if col.ndim > 1:  # arrays inside the event (e.g. stack ids): render as text
        return [" ".join(str(x) for x in v) for v in col.tolist()]
    values: list[AttrValue] = col.tolist()
    return values
