"""Config of the `bcc` receiver, and its metric description.

The metric description follows ebpf_exporter's `metrics` schema (`counters`,
`histograms`, labels with `size` / `padding` / chained `decoders`,
`bucket_type`, `bucket_multiplier`, `bucket_min`, `bucket_max`) so configs and
decoders can be shared with the ebpf_exporter-compatible receiver. Two
additions suit BCC, which knows the C types of its tables: `table` names the
BCC table (default: the metric name, as in ebpf_exporter) and labels may name a
key struct `field` instead of giving byte sizes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from collector.bpf.stats import BpfStatsOption
from collector.component import ComponentConfig
from collector.config import Duration, Position

_C_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:.]*$")


class DecoderConfig(ComponentConfig):
    """One step of a label's decoder chain (ebpf_exporter's `decoders` entries)."""

    name: Literal["uint", "int", "string", "hex", "static_map"] = Field(description="decoder")
    static_map: dict[str, str] | None = Field(None, description="for `static_map`: value -> label text")
    allow_unknown: bool = Field(False, description="for `static_map`: keep values missing from the map as they are")

    @model_validator(mode="after")
    def _map_given(self) -> Self:
        if self.name == "static_map" and not self.static_map:
            raise ValueError("the static_map decoder needs a `static_map` of value: text")
        return self


class LabelConfig(ComponentConfig):
    name: str = Field(description="label name")
    field: str | None = Field(None, description="key struct field (default: the label name); BCC knows the layout")
    size: int | None = Field(None, gt=0, description="ebpf_exporter style: bytes of the key this label takes")
    padding: int = Field(0, ge=0, description="ebpf_exporter style: bytes skipped after this label")
    decoders: list[DecoderConfig] = Field(
        default_factory=list, description="decoder chain; default from the C type (char[] -> string, ints -> uint)"
    )


class _MetricConfig(ComponentConfig):
    name: str = Field(description="metric name")
    help: str = Field("", description="metric description (Prometheus HELP)")
    table: str | None = Field(None, description="BCC table holding the metric (default: the metric name)")
    labels: list[LabelConfig] = Field(default_factory=list, description="labels from the table's key")

    @field_validator("name")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        if not _METRIC_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid metric name")
        return value

    @property
    def table_name(self) -> str:
        return self.table or self.name

    @model_validator(mode="after")
    def _label_style(self) -> Self:
        sized = [label.size is not None for label in self.labels]
        if any(sized) and not all(sized):
            raise ValueError("give every label a `size` (byte layout, ebpf_exporter style) or none (struct fields)")
        return self


class CounterConfig(_MetricConfig):
    value: str | None = Field(None, description="leaf struct field to export when the value is a struct")


class HistogramConfig(_MetricConfig):
    """A histogram table: the bucket is the key's last label (ebpf_exporter) or,
    for BPF_HISTOGRAM(name) without labels, the whole key."""

    bucket_type: Literal["exp2", "linear"] = Field(
        "exp2", description="exp2: bucket k holds values up to 2^k (bpf_log2l); linear: up to k"
    )
    bucket_multiplier: float = Field(1.0, gt=0, description="scale from bucket bounds to the metric's unit")
    bucket_min: int = Field(0, ge=0, description="first bucket exported; lower buckets fold into it")
    bucket_max: int = Field(description="last bucket exported; higher buckets go to +Inf")
    sum_bucket: bool = Field(
        False,
        description="the key bucket_max+1 holds the sum of all values (programs that clamp buckets and keep a "
        "sum there); otherwise the sum is estimated from bucket lower bounds",
    )
    unit: str = Field("", description="unit of the values after bucket_multiplier, e.g. s")

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.bucket_max < self.bucket_min:
            raise ValueError("bucket_max must be >= bucket_min")
        return self


class MetricsConfig(ComponentConfig):
    counters: list[CounterConfig] = Field(default_factory=list)
    histograms: list[HistogramConfig] = Field(default_factory=list)


FieldType = Literal["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "char"]


class EventFieldConfig(ComponentConfig):
    name: str = Field(description="field name, in struct order")
    type: FieldType = Field(description="C type: u8..u64, s8..s64, or char (with `count`: a string)")
    count: int = Field(1, gt=0, description="array length (char[count] is a string)")


class EventsConfig(ComponentConfig):
    """A BPF_PERF_OUTPUT table read as an event stream (logs pipelines)."""

    table: str = Field(description="the BPF_PERF_OUTPUT table")
    fields: list[EventFieldConfig] | None = Field(
        None, description="the event struct, in order; default: what BCC learnt from perf_submit()"
    )
    page_count: int = Field(64, gt=0, description="perf buffer pages per CPU (a power of two)")

    @field_validator("page_count")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("page_count must be a power of two")
        return value


AttachKind = Literal["uprobe", "uretprobe", "tracepoint", "raw_tracepoint", "kprobe", "kretprobe"]


class AttachConfig(ComponentConfig):
    kind: AttachKind = Field(description="where to attach")
    handler: str = Field(description="the C function to run")
    binary: str | None = Field(None, description="uprobe/uretprobe: executable or library path")
    symbol: str | None = Field(None, description="uprobe/uretprobe: function symbol; kprobe: kernel function")
    offset: int | None = Field(None, ge=0, description="uprobe/uretprobe: address instead of a symbol")
    pid: int | None = Field(None, gt=0, description="uprobe/uretprobe: only this process")
    tracepoint: str | None = Field(None, description="tracepoint: category:event; raw_tracepoint: event")

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not _C_NAME.match(self.handler):
            raise ValueError(f"handler {self.handler!r} is not a C function name")
        if self.kind in ("uprobe", "uretprobe"):
            if not self.binary or (self.symbol is None and self.offset is None):
                raise ValueError(f"{self.kind} needs `binary` and `symbol` (or `offset`)")
        elif self.kind in ("kprobe", "kretprobe"):
            if not self.symbol:
                raise ValueError(f"{self.kind} needs the kernel function as `symbol`")
        elif not self.tracepoint:
            raise ValueError(f"{self.kind} needs `tracepoint`")
        if self.kind == "tracepoint" and self.tracepoint and ":" not in self.tracepoint:
            raise ValueError("tracepoint is written category:event, e.g. sched:sched_process_exec")
        return self


class BccConfig(BpfStatsOption):
    """C source compiled with BCC at start; its tables become metrics and event streams."""

    source: str | None = Field(None, description="BCC C source, inline")
    source_file: str | None = Field(None, description="path of the BCC C source (instead of `source`)")
    cflags: list[str] = Field(default_factory=list, description="extra compiler flags, e.g. -DMAX=10")
    attach: list[AttachConfig] = Field(
        default_factory=list,
        description="attach points; functions named kprobe__*, tracepoint__*, raw_tracepoint__* (and "
        "TRACEPOINT_PROBE) attach themselves, as in BCC",
    )
    metrics: MetricsConfig = Field(default_factory=MetricsConfig, description="tables read as metrics")
    events: list[EventsConfig] = Field(default_factory=list, description="BPF_PERF_OUTPUT tables read as events")
    interval: Duration = Field(5.0, gt=0, description="how often metric tables are read")
    poll_timeout: Duration = Field(
        0.1, gt=0, le=5, description="longest wait for perf buffer events; bounds kernel-to-pipeline latency"
    )

    _source_position: Position | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _one_source(self, info: ValidationInfo) -> Self:
        if (self.source is None) == (self.source_file is None):
            raise ValueError("give the C program as `source` (inline) or `source_file` (a path), one of them")
        names = [m.name for m in (*self.metrics.counters, *self.metrics.histograms)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"metric {dupes[0]!r} is described twice")
        position: Callable[[tuple[str, ...]], Position | None] | None = (info.context or {}).get("position")
        if position is not None and self.source is not None:
            self._source_position = position(("source",))
        return self

    def source_text(self) -> str:
        if self.source is not None:
            return self.source
        assert self.source_file is not None
        return Path(self.source_file).read_text()

    @property
    def source_position(self) -> Position | None:
        """Where the inline `source:` key sits in the YAML file (for mapping compiler errors)."""
        return self._source_position
