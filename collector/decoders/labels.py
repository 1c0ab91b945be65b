"""Map keys (raw bytes, one row per entry) -> label values, column by column.

Each label is a byte range of the key. For each label we find the distinct
values in the column (np.unique on the bytes) and run the decoder chain once
per distinct value, so 10,000 series from 40 processes decode 40 comms, not
10,000. Results of pure chains are kept in a bounded cache across polls; a
value a decoder (regexp) rejected is kept in a bounded skip cache, and every
row holding it is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from collector.decoders.base import Decoder, DecoderContext, DecoderError, LruCache, SkipLabelSet
from collector.decoders.registry import decoder_class
from collector.decoders.spec import LabelSpec

Array = np.ndarray[Any, Any]
_SKIP = object()


def _distinct(column: Array) -> tuple[list[bytes], Array]:
    """(distinct values as bytes, index of each row's value). Integer-sized columns
    sort as integers; wider ones (strings, addresses) dedupe through a dict,
    which beats sorting opaque byte strings."""
    n, size = column.shape
    if size in (1, 2, 4, 8):
        as_int = np.ascontiguousarray(column).view(f"<u{size}").reshape(n)
        uniq, inverse = np.unique(as_int, return_inverse=True)
        return [v.tobytes() for v in uniq], inverse.reshape(n)
    values = np.ascontiguousarray(column).view(f"V{size}").reshape(n).tolist()
    index: dict[bytes, int] = {}
    inverse = np.fromiter((index.setdefault(v, len(index)) for v in values), np.intp, n)
    return list(index), inverse


class LabelDecodeError(ValueError):
    """A label's bytes could not be decoded; the message names the label and decoder."""


@dataclass(slots=True)
class _Label:
    spec: LabelSpec
    offset: int
    chain: list[Decoder]
    pure: bool
    cache: LruCache[bytes, str]
    skip: LruCache[bytes, bool]


class LabelSetDecoder:
    def __init__(
        self,
        labels: Sequence[LabelSpec],
        ctx: DecoderContext | None = None,
        cache_size: int = 65536,
        skip_cache_size: int = 4096,
    ) -> None:
        ctx = ctx or DecoderContext()
        self.labels: list[_Label] = []
        offset = 0
        for spec in labels:
            chain = [decoder_class(d.name)(d, ctx) for d in spec.decoders]
            pure = all(d.pure for d in chain)
            self.labels.append(_Label(spec, offset, chain, pure, LruCache(cache_size), LruCache(skip_cache_size)))
            offset += spec.size + spec.padding
        self.key_size = offset
        self.names = [label.spec.name for label in self.labels]
        self.skipped = 0  # rows dropped by regexp-like decoders in the last call

    def decode(self, keys: Array) -> tuple[Array, list[tuple[str, ...]]]:
        """keys: (n, key_size) uint8. Returns (kept row mask, label tuples of kept rows)."""
        n = len(keys)
        if keys.ndim != 2 or keys.shape[1] != self.key_size:
            raise LabelDecodeError(f"keys are {keys.shape[-1]} bytes but the labels describe {self.key_size}")
        keep = np.ones(n, bool)
        columns: list[Array] = []
        for label in self.labels:
            uniq, inverse = _distinct(keys[:, label.offset : label.offset + label.spec.size])
            decoded = np.empty(len(uniq), object)
            decoded[:] = [self._decode_one(label, raw) for raw in uniq]
            skipped = np.fromiter((v is _SKIP for v in decoded), bool, len(decoded))
            if skipped.any():
                keep &= ~skipped[inverse]
            columns.append(decoded[inverse])
        self.skipped = int(n - keep.sum())
        if not columns:
            return keep, [() for _ in range(int(keep.sum()))]
        return keep, list(zip(*(col[keep].tolist() for col in columns), strict=True))

    def decode_one(self, key: bytes) -> tuple[str, ...] | None:
        """One key (tracing, tests). None when a decoder dropped it."""
        keep, rows = self.decode(np.frombuffer(key, np.uint8).reshape(1, -1))
        return rows[0] if keep[0] else None

    def _decode_one(self, label: _Label, raw: bytes) -> Any:
        if label.pure:
            cached = label.cache.get(raw)
            if cached is not None:
                return cached
        if raw in label.skip:
            return _SKIP
        value = raw
        for decoder in label.chain:
            try:
                value = decoder.decode(value)
            except SkipLabelSet:
                label.skip.put(raw, True)
                return _SKIP
            except (DecoderError, ValueError, OSError) as exc:
                raise LabelDecodeError(
                    f"label {label.spec.name!r}: decoder {decoder.name!r} failed on {value!r}: {exc}"
                ) from None
        text = value.decode("utf-8", "replace")
        if label.pure:
            label.cache.put(raw, text)
        return text
