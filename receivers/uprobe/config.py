from __future__ import annotations

import re
from typing import Self

from pydantic import Field, field_validator, model_validator

from collector.bpf.stats import BpfStatsOption
from collector.component import ComponentConfig
from collector.config import Duration

MAX_PROBES = 256  # UPROBE_MAX_PROBES in bpf/uprobe.h
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:.]*$")


class ProbeConfig(ComponentConfig):
    """One function to count (and optionally time), in one binary."""

    binary: str | None = Field(
        None, description="path of the executable or shared library (inside the container when `container` is set)"
    )
    process: str | None = Field(
        None,
        description="name of running processes to probe (comm or executable name); the binary is theirs unless "
        "`binary` names a library; only their calls count, and processes that (re)start are picked up",
    )
    pid: int | None = Field(
        None,
        gt=0,
        description="only calls from this process count; the binary is its executable unless `binary` is set",
    )
    container: str | None = Field(
        None, description="container id (>= 12 characters): `binary` / `process` are looked up inside it"
    )
    function: str | None = Field(
        None,
        description="function symbol: exact (area_, _ZN8triangle4areaEddd, main.area) or demangled "
        "(triangle::area, a Rust path without hash, a Fortran name without trailing underscore)",
    )
    offset: int | None = Field(
        None, ge=0, description="with `function`: bytes into it; alone: file offset of the instruction to probe"
    )
    metric: str = Field(description="counter name, e.g. triangle_corp_area (exported as triangle_corp_area_total)")
    help: str = Field("", description="the metric's description (Prometheus HELP)")
    attributes: dict[str, str] = Field(
        default_factory=dict, description="constant labels on this probe's series (tell probes sharing a metric apart)"
    )
    latency: bool = Field(
        False, description="also time each call (uprobe + uretprobe) into a log2 histogram; not for Go binaries"
    )
    latency_metric: str | None = Field(
        None, description="histogram name (default <metric>_duration, unit seconds, exported as ..._seconds)"
    )
    latency_help: str | None = Field(None, description="the histogram's description")

    @field_validator("metric", "latency_metric")
    @classmethod
    def _metric_name(cls, value: str | None) -> str | None:
        if value is not None and not _METRIC_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a valid metric name (letters, digits, _ : .; not starting with a digit)"
            )
        return value

    @model_validator(mode="after")
    def _target(self) -> Self:
        named = [k for k in ("binary", "process", "pid") if getattr(self, k) is not None]
        if not named:
            raise ValueError("name the code to probe: `binary`, `process` or `pid`")
        if self.process is not None and self.pid is not None:
            raise ValueError("`process` and `pid` both select processes: use one")
        if self.container is not None and self.pid is not None:
            raise ValueError("`pid` already names one process: drop `container`")
        if self.function is None and self.offset is None:
            raise ValueError("name the `function` to probe (or its file `offset`)")
        return self

    @property
    def histogram_name(self) -> str:
        return self.latency_metric or f"{self.metric.removesuffix('_total')}_duration"


class UprobeConfig(BpfStatsOption):
    """Count calls of functions in binaries you cannot change, and optionally time them."""

    probes: list[ProbeConfig] = Field(min_length=1, max_length=MAX_PROBES, description="functions to probe")
    interval: Duration = Field(5.0, gt=0, description="how often counts are read from the kernel")
    resolve_interval: Duration = Field(
        2.0,
        gt=0,
        description="how often targets are re-resolved: processes that (re)started, binaries replaced on disk",
    )

    @model_validator(mode="after")
    def _consistent_metrics(self) -> Self:
        kinds: dict[str, str] = {}
        series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        for i, probe in enumerate(self.probes):
            names = [(probe.metric, "counter")]
            if probe.latency:
                names.append((probe.histogram_name, "histogram"))
            for name, kind in names:
                if kinds.setdefault(name, kind) != kind:
                    raise ValueError(f"probes[{i}]: {name!r} is used both as a counter and as a histogram")
                key = (name, tuple(sorted(probe.attributes.items())))
                if key in series:
                    raise ValueError(
                        f"probes[{i}]: another probe already feeds {name!r} with the same attributes; "
                        "set `attributes` to tell them apart"
                    )
                series.add(key)
        return self
