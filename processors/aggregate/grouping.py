"""Group ids for event rows from chosen columns, computed on whole columns.

`group_rows` returns, for N rows, an int64 array of local group ids (0..G-1) and
the G attribute tuples. Python work is per distinct group, never per row."""

from __future__ import annotations

from typing import Any

import numpy as np

from collector.model import AttrValue, EventBatch

Array = np.ndarray[Any, Any]

# Integer columns whose value range is at most this many times the row count are
# factorised with a dense table (O(n)) instead of a sort.
_DENSE_FACTOR = 4


def factorize(col: Array) -> tuple[Array, list[AttrValue]]:
    """(codes, distinct values as attribute values) for one column."""
    if col.ndim != 1:
        raise ValueError("array-valued fields cannot be grouped by")
    if col.dtype.kind in "iu" and len(col):
        low, high = int(col.min()), int(col.max())
        if high - low <= max(_DENSE_FACTOR * len(col), 1024):
            shifted = (col - low).astype(np.int64) if low else col.astype(np.int64, copy=False)
            present = np.bincount(shifted, minlength=high - low + 1) > 0
            table = np.cumsum(present) - 1
            uniq = np.flatnonzero(present) + low
            return table[shifted], [int(v) for v in uniq]
    if col.dtype.kind in "SU" and len(col):
        hashed = _factorize_fixed_width(col)
        if hashed is not None:
            return hashed
    uniq, codes = np.unique(col, return_inverse=True)
    return codes.reshape(-1), [_attr(v) for v in uniq]


def _factorize_fixed_width(col: Array) -> tuple[Array, list[AttrValue]] | None:
    """Fixed-width strings (C char arrays): hash their 64-bit words and sort the
    hashes, ~7x faster than sorting strings. Exact: a hash collision is detected
    (rows of one hash that differ) and the caller then sorts the strings."""
    n, width = len(col), col.dtype.itemsize
    raw = np.ascontiguousarray(col).view(np.uint8).reshape(n, width)
    if width % 8:
        raw = np.concatenate([raw, np.zeros((n, 8 - width % 8), dtype=np.uint8)], axis=1)
    words = raw.view("<u8")
    h = words[:, 0].copy()
    for i in range(1, words.shape[1]):
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= words[:, i]
    uniq, codes = np.unique(h, return_inverse=True)
    codes = codes.reshape(-1)
    first = np.full(len(uniq), n, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(n, dtype=np.int64))
    if not np.array_equal(words, words[first[codes]]):
        return None
    return codes, [_attr(v) for v in col[first]]


def _text(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode("utf-8", "replace")


def _attr(value: Any) -> AttrValue:
    if isinstance(value, bytes | np.bytes_):
        return _text(bytes(value))
    if isinstance(value, np.generic):
        item: AttrValue = value.item()
        return item
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def group_rows(batch: EventBatch, names: list[str]) -> tuple[Array, list[tuple[AttrValue, ...]]]:
    n = len(batch)
    if not names:
        return np.zeros(n, dtype=np.int64), [()]
    codes, values = factorize(batch.column(names[0]))
    groups: list[tuple[AttrValue, ...]] = [(v,) for v in values]
    for name in names[1:]:
        more, more_values = factorize(batch.column(name))
        combined = codes * len(more_values) + more
        # Re-number the combined codes so they stay dense (and never overflow int64).
        codes, first = _dense(combined, len(groups) * len(more_values))
        groups = [(*groups[c // len(more_values)], more_values[c % len(more_values)]) for c in first.tolist()]
    return codes, groups


def _dense(codes: Array, space: int) -> tuple[Array, Array]:
    """Renumber codes to 0..G-1; also return the original code of each new id."""
    if space <= _DENSE_FACTOR * len(codes) + 1024:
        present = np.bincount(codes, minlength=space) > 0
        table = np.cumsum(present) - 1
        return table[codes], np.flatnonzero(present)
    uniq, inverse = np.unique(codes, return_inverse=True)
    return inverse.reshape(-1), uniq
