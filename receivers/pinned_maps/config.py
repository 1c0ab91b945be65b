from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from collector.component import ComponentConfig
from collector.config import Duration
from collector.decoders import LabelSpec


class PinnedMapConfig(ComponentConfig):
    """One map pinned on bpffs by another loader (bpftool, bpfman, a daemon)."""

    path: Path = Field(description="the pin, e.g. /sys/fs/bpf/my_counts")
    name: str | None = Field(
        None, pattern=r"^[A-Za-z_:][A-Za-z0-9_:.]*$", description="metric name (default: map name)"
    )
    help: str = Field("", description="metric description")
    type: Literal["counter", "gauge"] = Field("counter", description="counter: values only grow; gauge: any value")
    labels: list[LabelSpec] | None = Field(
        None,
        description="override the key's labels (ebpf_exporter schema; `size: 0` takes the size from BTF). "
        "Default: one label per key field, decoded from the map's BTF",
    )
    value_field: str | None = Field(
        None, description="struct values: the field to report (default: every numeric field, as <name>_<field>)"
    )


class PinnedMapsConfig(ComponentConfig):
    """Read maps other loaders pinned; key and value types come from the maps' own BTF."""

    maps: list[PinnedMapConfig] = Field(min_length=1, description="pinned maps to read")
    interval: Duration = Field(5.0, gt=0, description="how often maps are read")
    metric_prefix: str = Field("", pattern=r"^[A-Za-z0-9_]*$", description="prepended to metric names")
