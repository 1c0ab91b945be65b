"""Bind metric descriptions to a loaded object's maps, check them against the
maps' sizes and BTF, and read them into metrics.

Every mismatch is found at start and reported together, each saying where
(the config file position and key path) and what (the map's actual layout)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from collector.bpf import BpfMap
from collector.bpf.btf import Btf, BtfError
from collector.decoders import DecoderContext, DecoderError, LabelSetDecoder, LabelSpec
from collector.mapmetrics import btf_labels
from collector.mapmetrics.build import counter_points, histogram_points
from collector.mapmetrics.spec import CounterSpec, HistogramSpec, MetricsSpec
from collector.model import Metric, MetricKind

Array = np.ndarray[Any, Any]
VALUE = np.dtype("<u8")  # ebpf_exporter's maps always count in u64


class MapMetricError(ValueError):
    """One or more metric descriptions do not fit the program; one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(slots=True)
class BoundMetric:
    spec: CounterSpec | HistogramSpec
    map: BpfMap
    labels: LabelSetDecoder
    cpu: LabelSetDecoder | None  # per-CPU map whose last label is `cpu`: one series per CPU


def bind(
    metrics: MetricsSpec,
    maps: Mapping[str, BpfMap],
    btf: Btf | None,
    where: Callable[[str], str],
    ctx: DecoderContext | None = None,
) -> list[BoundMetric]:
    """`where("metrics.counters[0]")` returns how to point the user at that key."""
    problems: list[str] = []
    bound: list[BoundMetric] = []
    items: list[tuple[str, CounterSpec | HistogramSpec]] = [
        (f"metrics.counters[{i}]", c) for i, c in enumerate(metrics.counters)
    ]
    items += [(f"metrics.histograms[{i}]", h) for i, h in enumerate(metrics.histograms)]
    for path, spec in items:
        try:
            bound.append(_bind_one(spec, maps, btf, ctx))
        except MapMetricError as exc:
            problems.extend(f"{where(path)} ({spec.name}): {p}" for p in exc.problems)
    if problems:
        raise MapMetricError(problems)
    return bound


def _bind_one(
    spec: CounterSpec | HistogramSpec, maps: Mapping[str, BpfMap], btf: Btf | None, ctx: DecoderContext | None
) -> BoundMetric:
    m = maps.get(spec.map_name)
    if m is None:
        raise MapMetricError([f"the program has no map named {spec.map_name!r}; its maps: {', '.join(sorted(maps))}"])
    problems = []
    if m.value_size != VALUE.itemsize:
        problems.append(f"map {m.name!r} has {m.value_size}-byte values; counters and histograms read u64 values")
    key_labels = list(spec.labels)
    cpu_label: LabelSpec | None = None
    if isinstance(spec, CounterSpec) and m.percpu and key_labels and key_labels[-1].name == "cpu":
        cpu_label = key_labels.pop()
    if not key_labels:
        problems.append(f"no labels describe the {m.key_size}-byte key of map {m.name!r}")
    for label in spec.labels:
        if not label.decoders:
            problems.append(f"label {label.name!r} has no decoders (use uint, string, ...)")
    key_type = m.btf_key_type_id if btf is not None else 0
    if key_type and btf is not None:
        try:
            key_labels = btf_labels.infer_sizes(btf, key_type, key_labels)
        except (ValueError, BtfError) as exc:
            problems.append(str(exc))
    elif any(label.size == 0 for label in key_labels):
        problems.append(f"map {m.name!r} has no key BTF, so every label needs a `size`")
    total = sum(label.size + label.padding for label in key_labels)
    if not problems and total != m.key_size:
        sizes = ", ".join(f"{lb.name}: {lb.size}" + (f"+{lb.padding}" if lb.padding else "") for lb in key_labels)
        layout = btf_labels.describe(btf, key_type) if key_type and btf is not None else f"{m.key_size} bytes"
        problems.append(f"labels add up to {total} bytes ({sizes}) but map {m.name!r} has key {layout}")
    if problems:
        raise MapMetricError(problems)
    try:
        decoder = LabelSetDecoder(key_labels, ctx)
        cpu = LabelSetDecoder([cpu_label.model_copy(update={"size": 2})], ctx) if cpu_label else None
    except DecoderError as exc:
        raise MapMetricError([str(exc)]) from None
    return BoundMetric(spec, m, decoder, cpu)


def collect(bound: BoundMetric, name: str, start_ns: int, now_ns: int) -> tuple[Metric, int]:
    """Read the map once: (metric, rows dropped by decoders)."""
    m = bound.map
    keys, values = m.read(np.dtype(f"V{m.key_size}"), VALUE, sum_cpus=bound.cpu is None)
    raw = keys.view(np.uint8).reshape(len(keys), m.key_size)
    keep, rows = bound.labels.decode(raw)
    values = values[keep]
    names = list(bound.labels.names)
    if bound.cpu is not None:
        rows, values = _per_cpu(bound.cpu, rows, values)
        names += bound.cpu.names
    spec = bound.spec
    if isinstance(spec, CounterSpec):
        metric = Metric(
            name, MetricKind.SUM, list(counter_points(names, rows, values, start_ns, now_ns)), spec.help, monotonic=True
        )
    else:
        points = histogram_points(spec, names, rows, values, start_ns, now_ns)
        metric = Metric(name, MetricKind.HISTOGRAM, list(points), spec.help)
    return metric, bound.labels.skipped


def _per_cpu(cpu: LabelSetDecoder, rows: list[tuple[str, ...]], values: Array) -> tuple[list[tuple[str, ...]], Array]:
    ncpu = values.shape[1] if values.ndim == 2 else 1
    cpu_ids = np.arange(ncpu, dtype="<u2").view(np.uint8).reshape(ncpu, 2)
    _, cpu_names = cpu.decode(cpu_ids)
    out_rows = [row + cpu_names[c] for row in rows for c in range(ncpu)]
    return out_rows, values.reshape(-1)
