"""Tables -> metrics through the metric description (see config.py).

Label values are decoded once per series (map entry), never per event: the
kernel already aggregated. A label is a key struct field (BCC knows the
layout) or, ebpf_exporter style, `size` bytes of the key followed by
`padding`; its decoder chain turns the raw value into label text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from collector.model import HistogramPoint, Metric, MetricKind, NumberPoint, Point
from receivers.bcc.config import CounterConfig, DecoderConfig, HistogramConfig, LabelConfig

Array = np.ndarray[Any, Any]
Raw = bytes | int


class DescriptionError(Exception):
    """The description does not fit the table (e.g. a label names a missing field)."""


# -- decoders ------------------------------------------------------------------


def decode(raw: Raw, chain: Sequence[DecoderConfig]) -> str:
    value: Raw | str = raw
    for step in chain:
        value = _DECODERS[step.name](value, step)
    return value if isinstance(value, str) else _default_text(value)


def _uint(value: Raw | str, _: DecoderConfig) -> str:
    return str(int.from_bytes(value, "little") if isinstance(value, bytes) else int(value))


def _int(value: Raw | str, _: DecoderConfig) -> str:
    return str(int.from_bytes(value, "little", signed=True) if isinstance(value, bytes) else int(value))


def _string(value: Raw | str, _: DecoderConfig) -> str:
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(value)


def _hex(value: Raw | str, _: DecoderConfig) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return format(int(value), "x")


def _static_map(value: Raw | str, step: DecoderConfig) -> str:
    text = value if isinstance(value, str) else _default_text(value)
    assert step.static_map is not None
    if text in step.static_map:
        return step.static_map[text]
    return text if step.allow_unknown else "unknown"


def _default_text(value: Raw | str) -> str:
    if isinstance(value, bytes):
        return _string(value, DecoderConfig(name="string"))
    return str(value)


_DECODERS = {"uint": _uint, "int": _int, "string": _string, "hex": _hex, "static_map": _static_map}


# -- key columns -------------------------------------------------------------------


@dataclass(slots=True)
class _Column:
    values: list[Raw]
    decoders: list[DecoderConfig]


def _key_columns(labels: Sequence[LabelConfig], keys: Array, table: str) -> list[_Column]:
    """One column of raw values per label, in label order."""
    if not labels:
        return []
    if labels[0].size is not None:
        return _sized_columns(labels, keys, table)
    names = keys.dtype.names
    if names is None:  # a scalar key: one label takes it whole
        if len(labels) != 1:
            raise DescriptionError(f"table {table}: its key is a single {keys.dtype}, so it gives exactly one label")
        return [_column(keys, labels[0])]
    out = []
    for label in labels:
        field = label.field or label.name
        if field not in names:
            raise DescriptionError(f"table {table}: its key has no field {field!r}; fields: {', '.join(names)}")
        out.append(_column(keys[field], label))
    return out


def _column(col: Array, label: LabelConfig) -> _Column:
    if col.dtype.kind == "S":
        return _Column(list(col.tolist()), label.decoders or [DecoderConfig(name="string")])
    if col.dtype.kind in "iu" and col.ndim == 1:
        default = "int" if col.dtype.kind == "i" else "uint"
        return _Column([int(v) for v in col.tolist()], label.decoders or [DecoderConfig(name=default)])
    width = col.dtype.itemsize * int(np.prod(col.shape[1:], dtype=np.int64))  # bytes per row, also for 0 rows
    raw = np.ascontiguousarray(col).view(np.uint8).reshape(len(col), width)
    return _Column([bytes(r) for r in raw], label.decoders or [DecoderConfig(name="hex")])


def _sized_columns(labels: Sequence[LabelConfig], keys: Array, table: str) -> list[_Column]:
    raw = np.ascontiguousarray(keys).view(np.uint8).reshape(len(keys), keys.dtype.itemsize)
    offset, out = 0, []
    for label in labels:
        assert label.size is not None
        end = offset + label.size
        if end > raw.shape[1]:
            raise DescriptionError(f"table {table}: labels take {end} bytes but the key has {raw.shape[1]}")
        chunk = raw[:, offset:end]
        out.append(_Column([bytes(r) for r in chunk], label.decoders or [DecoderConfig(name="uint")]))
        offset = end + label.padding
    return out


# -- metrics -------------------------------------------------------------------------


def counter(desc: CounterConfig, keys: Array, values: Array, start_ns: int, now_ns: int) -> Metric:
    table = desc.table_name
    if values.dtype.names is not None:
        if desc.value is None or desc.value not in values.dtype.names:
            fields = ", ".join(values.dtype.names)
            raise DescriptionError(
                f"table {table}: its value is a struct; name the field to export as `value` ({fields})"
            )
        values = values[desc.value]
    columns = _key_columns(desc.labels, keys, table)
    points = []
    for i, value in enumerate(values.tolist()):
        attrs = {
            label.name: decode(col.values[i], col.decoders) for label, col in zip(desc.labels, columns, strict=True)
        }
        points.append(NumberPoint(attrs, int(value), start_ns, now_ns))
    return Metric(desc.name, MetricKind.SUM, list[Point](_merge_numbers(points)), desc.help, monotonic=True)


def _merge_numbers(points: list[NumberPoint]) -> list[NumberPoint]:
    """Keys that decode to the same labels (e.g. a static_map) add up into one series."""
    merged: dict[tuple[tuple[str, Any], ...], NumberPoint] = {}
    for p in points:
        key = tuple(sorted(p.attributes.items()))
        if key in merged:
            merged[key].value += p.value
        else:
            merged[key] = p
    return list(merged.values())


def histogram(desc: HistogramConfig, keys: Array, values: Array, start_ns: int, now_ns: int) -> Metric:
    table = desc.table_name
    if values.dtype.names is not None:
        raise DescriptionError(f"table {table}: histogram values must be plain counters")
    labels = list(desc.labels)
    if labels:
        columns = _key_columns(labels, keys, table)
        buckets = [int.from_bytes(v, "little") if isinstance(v, bytes) else int(v) for v in columns[-1].values]
        series_labels, series_cols = labels[:-1], columns[:-1]
    else:
        if keys.dtype.names is not None or keys.dtype.kind not in "iu":
            raise DescriptionError(f"table {table}: its key is a struct; list its labels, the bucket last")
        buckets = [int(k) for k in keys.tolist()]
        series_labels, series_cols = [], []
    lo, hi = desc.bucket_min, desc.bucket_max
    nbounds = hi - lo + 1
    series: dict[tuple[tuple[str, str], ...], tuple[list[int], list[float]]] = {}
    for i, count in enumerate(values.tolist()):
        attrs = tuple(
            (lb.name, decode(c.values[i], c.decoders)) for lb, c in zip(series_labels, series_cols, strict=True)
        )
        counts, total = series.setdefault(attrs, ([0] * (nbounds + 1), [0.0, 0.0]))  # total: [sum, has_sum]
        bucket = buckets[i]
        if desc.sum_bucket and bucket == hi + 1:
            total[0], total[1] = float(count) * desc.bucket_multiplier, 1.0
            continue
        counts[min(max(bucket, lo), hi + 1) - lo] += int(count)
    bounds = tuple(_upper(desc, k) for k in range(lo, hi + 1))
    points = []
    for attrs, (counts, total) in series.items():
        estimated = sum(c * _lower(desc, lo + j) for j, c in enumerate(counts[:-1])) + counts[-1] * bounds[-1]
        points.append(
            HistogramPoint(dict(attrs), bounds, counts, total[0] if total[1] else estimated, start_ns, now_ns)
        )
    return Metric(desc.name, MetricKind.HISTOGRAM, list(points), desc.help, unit=desc.unit)


def _upper(desc: HistogramConfig, k: int) -> float:
    return (2.0**k if desc.bucket_type == "exp2" else float(k)) * desc.bucket_multiplier


def _lower(desc: HistogramConfig, k: int) -> float:
    """The smallest value bucket k can hold: a lower-bound estimate of the sum when the
    program keeps no sum (BCC's log2 histograms do not)."""
    if desc.bucket_type == "exp2":
        return (2.0 ** (k - 1) if k > 0 else 0.0) * desc.bucket_multiplier
    return float(max(k - 1, 0)) * desc.bucket_multiplier
