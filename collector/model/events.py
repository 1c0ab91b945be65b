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
    attributes added by processors (e.g. k8s.pod.name), each an array of len(records).

    `codes` optionally holds a dictionary encoding of a column, `name -> (codes, values)`
    with `columns[name] == values[codes]` and `values` distinct: processors that add
    a column from a few distinct values record it so that grouping and filtering
    downstream work on small integers instead of sorting a million strings."""

    source: str
    records: np.ndarray[Any, Any]
    time_ns: int
    resource: dict[str, AttrValue] = field(default_factory=dict)
    columns: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    codes: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(default_factory=dict)

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
            codes={k: (c[mask], v) for k, (c, v) in self.codes.items()},
        )

    def with_columns(self, coded: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]) -> EventBatch:
        """A new batch sharing the records, plus dictionary-encoded columns
        `name -> (codes, distinct values)`. The receiver's batch is left untouched."""
        columns, codes = dict(self.columns), dict(self.codes)
        for name, (c, values) in coded.items():
            columns[name] = values[c]
            codes[name] = (c, values)
        return EventBatch(self.source, self.records, self.time_ns, dict(self.resource), columns, codes)

    def factorize(self, name: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(codes, distinct values) of a column, from its dictionary encoding when a
        processor recorded one, else computed (see `factorize`)."""
        if name in self.codes:
            return self.codes[name]
        return factorize(self.column(name))

    def rows(self) -> Iterator[dict[str, AttrValue]]:
        """Per-row dicts, for exporters at the edge (JSON, OTLP logs); not for the hot path."""
        names = self.field_names()
        cols = [_python_values(self.column(n)) for n in names]
        for values in zip(*cols, strict=True):
            yield dict(zip(names, values, strict=True))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def factorize(col: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(codes, sorted distinct values) of a 1-D column, as numpy.unique(return_inverse=True).
    Fixed-size C strings (comm) are hashed to one uint64 per row first, which sorts far
    faster than 16-byte strings; the grouping is verified and np.unique is used on a
    hash collision, so the answer is always exact."""
    if col.dtype.kind == "S" and col.dtype.itemsize % 8 == 0 and len(col) > 65536:
        words = np.ascontiguousarray(col).view(np.uint64).reshape(len(col), -1)
        hashed = np.zeros(len(col), np.uint64)
        for i in range(words.shape[1]):
            hashed = (hashed ^ words[:, i]) * _GOLDEN
        keys = np.unique(hashed)  # a plain sort, then a binary search: cheaper than argsort
        inverse = np.searchsorted(keys, hashed)
        first = np.empty(len(keys), np.intp)
        first[inverse] = np.arange(len(col))  # some row of each distinct hash
        representatives = col[first]
        if np.array_equal(representatives[inverse], col):
            order = np.argsort(representatives, kind="stable")
            rank = np.empty(len(order), np.intp)
            rank[order] = np.arange(len(order))
            return rank[inverse], representatives[order]
    values, codes = np.unique(col, return_inverse=True)
    return codes.reshape(-1), values


def _python_values(col: np.ndarray[Any, Any]) -> list[AttrValue]:
    if col.dtype.kind == "S":  # fixed-size C char arrays: stop at the first NUL
        return [bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace") for v in col]
    if col.ndim > 1:  # arrays inside the event (e.g. stack ids): render as text
        return [" ".join(str(x) for x in v) for v in col.tolist()]
    values: list[AttrValue] = col.tolist()
    return values
