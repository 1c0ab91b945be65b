"""Group ids for event rows from chosen columns, computed on whole columns.

`group_rows` returns, for N rows, an int64 array of local group ids (0..G-1) and
the G attribute tuples. Python work is per distinct group, never per row."""

from __future__ import annotations

from typing import Any

import numpy as np

from collector.model import AttrValue, EventBatch
from collector.model.events import attr_value

Array = np.ndarray[Any, Any]

_DENSE_FACTOR = 4


def factorize(batch: EventBatch, name: str) -> tuple[Array, list[AttrValue]]:
    """(codes, distinct values as attribute values): the batch's own dictionary
    encoding when an enricher recorded one, else computed (EventBatch.factorize).
    A column the batch does not have is one empty value for every row."""
    if name not in batch.field_names():
        return np.zeros(len(batch), np.int64), [""]
    codes, values = batch.factorize(name)
    return codes, [attr_value(v) for v in values]


def group_rows(batch: EventBatch, names: list[str]) -> tuple[Array, list[tuple[AttrValue, ...]]]:
    n = len(batch)
    if not names:
        return np.zeros(n, dtype=np.int64), [()]
    codes, values = factorize(batch, names[0])
    groups: list[tuple[AttrValue, ...]] = [(v,) for v in values]
    for name in names[1:]:
        more, more_values = factorize(batch, name)
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
