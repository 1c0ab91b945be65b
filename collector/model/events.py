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

    `codes` holds dictionary-encoded extra columns, `name -> (codes, values)` with
    `values` distinct: processors that add a column from a few distinct values (an
    enricher's pod names) record it this way, so that grouping and filtering work
    on small integers, and the per-row column is only built (`values[codes]`, then
    cached in `columns`) when something asks for it with `column(name)`.
    Read extra columns through `extra_names()` / `column()` / `extra_columns()`,
    never through the two dicts directly."""

    source: str
    records: np.ndarray[Any, Any]
    time_ns: int
    resource: dict[str, AttrValue] = field(default_factory=dict)
    columns: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    codes: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def field_names(self) -> list[str]:
        return list(self.records.dtype.names or ()) + self.extra_names()

    def extra_names(self) -> list[str]:
        """Columns added by processors, materialized or dictionary-encoded."""
        return list(dict.fromkeys([*self.columns, *self.codes]))

    def column(self, name: str) -> np.ndarray[Any, Any]:
        if name in self.columns:
            return self.columns[name]
        if name in self.codes:
            codes, values = self.codes[name]
            built: np.ndarray[Any, Any] = values[codes]
            self.columns[name] = built  # a cache: same data, so the batch is unchanged
            return built
        return self.records[name]

    def extra_columns(self) -> dict[str, np.ndarray[Any, Any]]:
        """Every added column, built per row (for processors that rebuild a batch)."""
        return {name: self.column(name) for name in self.extra_names()}

    def select(self, mask: np.ndarray[Any, Any]) -> EventBatch:
        """Rows where mask is true, keeping extra columns aligned."""
        return EventBatch(
            source=self.source,
            records=self.records[mask],
            time_ns=self.time_ns,
            resource=dict(self.resource),
            columns={k: v[mask] for k, v in self.columns.items() if k not in self.codes},
            codes={k: (c[mask], v) for k, (c, v) in self.codes.items()},
        )

    def with_columns(self, coded: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]) -> EventBatch:
        """A new batch sharing the records, plus dictionary-encoded columns
        `name -> (codes, distinct values)`. The receiver's batch is left untouched."""
        columns, codes = dict(self.columns), dict(self.codes)
        for name, (c, values) in coded.items():
            columns.pop(name, None)  # built lazily by column()
            codes[name] = (c, values)
        return EventBatch(self.source, self.records, self.time_ns, dict(self.resource), columns, codes)

    def slice(self, start: int, end: int) -> EventBatch:
        """Rows start..end, keeping added columns (and their encodings) aligned."""
        return EventBatch(
            self.source,
            self.records[start:end],
            self.time_ns,
            dict(self.resource),
            {k: v[start:end] for k, v in self.columns.items() if k not in self.codes},
            {k: (c[start:end], v) for k, (c, v) in self.codes.items()},
        )

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
# Integer columns whose value range is at most this many times the row count are
# factorised with a dense table (O(n)) instead of a sort.
_DENSE_FACTOR = 4


def factorize(col: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(codes, sorted distinct values) of a 1-D column, as numpy.unique(return_inverse=True)
    but faster on the columns events have: small integers (pids) go through a dense
    table, fixed-size C strings (comm) are hashed to one uint64 per row, which sorts far
    faster than strings. The hash grouping is verified and np.unique is used on a
    collision, so the answer is always exact."""
    if col.ndim != 1:
        raise ValueError("array-valued fields cannot be grouped by")
    if col.dtype.kind in "iu" and len(col):
        low, high = int(col.min()), int(col.max())
        if high - low <= max(_DENSE_FACTOR * len(col), 1024):
            shifted = (col - low).astype(np.int64) if low else col.astype(np.int64, copy=False)
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            table = np.cumsum(present) - 1
            return table[shifted], (np.flatnonzero(present) + low).astype(col.dtype)
    if col.dtype.kind == "S" and len(col) > 4096:
        hashed = _factorize_c_strings(col)
        if hashed is not None:
            return hashed
    values, codes = np.unique(col, return_inverse=True)
    return codes.reshape(-1), values


def _factorize_c_strings(col: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    n, width = len(col), col.dtype.itemsize
    raw = np.ascontiguousarray(col).view(np.uint8).reshape(n, width)
    if width % 8:
        raw = np.concatenate([raw, np.zeros((n, 8 - width % 8), dtype=np.uint8)], axis=1)
    words = raw.view("<u8")
    hashed = words[:, 0].copy()
    for i in range(1, words.shape[1]):
        hashed = (hashed * _GOLDEN) ^ words[:, i]
    keys = np.unique(hashed)  # a plain sort, then a binary search: cheaper than argsort
    inverse = np.searchsorted(keys, hashed)
    first = np.empty(len(keys), np.intp)
    first[inverse] = np.arange(n)  # some row of each distinct hash
    representatives = col[first]
    if not np.array_equal(representatives[inverse], col):
        return None  # a hash collision: let the caller sort the strings
    order = np.argsort(representatives, kind="stable")
    rank = np.empty(len(order), np.intp)
    rank[order] = np.arange(len(order))
    return rank[inverse], representatives[order]


def attr_value(value: Any) -> AttrValue:
    """One column value as an attribute value: C strings stop at their first NUL."""
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
    if isinstance(value, np.generic):
        item: AttrValue = value.item()
        return item
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _python_values(col: np.ndarray[Any, Any]) -> list[AttrValue]:
    if col.dtype.kind == "S":  # fixed-size C char arrays: stop at the first NUL
        return [bytes(v).split(b"\0", 1)[0].decode("utf-8", "replace") for v in col]
    if col.ndim > 1:  # arrays inside the event (e.g. stack ids): render as text
        return [" ".join(str(x) for x in v) for v in col.tolist()]
    values: list[AttrValue] = col.tolist()
    return values
