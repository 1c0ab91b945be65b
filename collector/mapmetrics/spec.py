"""Metric descriptions in ebpf_exporter's YAML schema (`metrics.counters`,
`metrics.histograms`), for any map-reading receiver.

A counter reads the map named like the metric; each key becomes one series,
its bytes cut into labels and decoded. A histogram's last label is the bucket
key, whose meaning `bucket_type` gives:

    exp2      key k counts values in (2^(k-1), 2^k]      bound = 2^k * multiplier
    exp2zero  key 0 counts zeros, key k is exp2's k-1    bound = 0, then 2^(k-1) * multiplier
    linear    key k counts values in ((k-1)*m, k*m]      bound = k * multiplier
    fixed     keys are `bucket_keys`                     bound = key * multiplier

The key just above the range (bucket_max + 1, or the last fixed key + 1) holds
the sum of observed values, when the program keeps one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector.decoders.spec import LabelSpec


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CounterSpec(_Spec):
    name: str = Field(min_length=1, description="metric name; also the name of the map it reads")
    help: str = Field("", description="metric description")
    map: str | None = Field(None, description="map to read, when it is not named like the metric")
    labels: list[LabelSpec] = Field(default_factory=list, description="the key's labels, in key order")
    perf_event_array: bool = Field(False, description="ebpf_exporter's perf event counters (not supported here)")
    flush_interval: str | None = None

    @model_validator(mode="after")
    def _supported(self) -> CounterSpec:
        if self.perf_event_array:
            raise ValueError("perf_event_array counters are not supported: use the ebpf_events receiver")
        return self

    @property
    def map_name(self) -> str:
        return self.map or self.name


class HistogramSpec(_Spec):
    name: str = Field(min_length=1, description="metric name; also the name of the map it reads")
    help: str = ""
    map: str | None = Field(None, description="map to read, when it is not named like the metric")
    bucket_type: Literal["exp2", "exp2zero", "linear", "fixed"]
    bucket_multiplier: float = Field(1.0, description="bucket bound = key-derived value * multiplier")
    bucket_min: int = Field(0, ge=0)
    bucket_max: int = Field(0, ge=0)
    bucket_keys: list[float] = Field(default_factory=list, description="fixed histograms: the keys, ascending")
    labels: list[LabelSpec] = Field(min_length=1, description="the key's labels; the last one is the bucket")

    @model_validator(mode="after")
    def _buckets(self) -> HistogramSpec:
        if self.bucket_multiplier == 0:  # ebpf_exporter treats an unset (0) multiplier as 1
            object.__setattr__(self, "bucket_multiplier", 1.0)
        if self.bucket_type == "fixed":
            if not self.bucket_keys:
                raise ValueError("fixed histograms need `bucket_keys`")
            if sorted(self.bucket_keys) != self.bucket_keys:
                raise ValueError("bucket_keys must be in ascending order")
        elif self.bucket_max <= self.bucket_min:
            raise ValueError(f"bucket_max ({self.bucket_max}) must be above bucket_min ({self.bucket_min})")
        return self

    @property
    def map_name(self) -> str:
        return self.map or self.name


class MetricsSpec(_Spec):
    counters: list[CounterSpec] = Field(default_factory=list)
    histograms: list[HistogramSpec] = Field(default_factory=list)


class ProgramFile(_Spec):
    """One ebpf_exporter config file (`<name>.yaml` next to `<name>.bpf.o`)."""

    metrics: MetricsSpec = MetricsSpec()
    kaddrs: list[str] = Field(default_factory=list)
    tracing: dict[str, object] | None = None
    cgroup_id_map: dict[str, object] | None = None

    @model_validator(mode="after")
    def _supported(self) -> ProgramFile:
        if self.kaddrs:
            raise ValueError("kaddrs is not supported yet: resolve addresses in the program (bpf_kallsyms_lookup)")
        if self.tracing:
            raise ValueError("tracing (spans from ebpf_exporter configs) is not supported: use ebpf_events")
        if self.cgroup_id_map:
            raise ValueError("cgroup_id_map is not supported: filter by cgroup with the filter processor")
        return self
