from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from collector.bpf.stats import BpfStatsOption
from collector.config import Duration

AttachKind = Literal["tp_btf", "fentry", "raw_tp", "kprobe", "tracepoint"]


class EbpfMapsConfig(BpfStatsOption):
    """Built-in programs that aggregate in the kernel, read on an interval."""

    programs: list[str] = Field(min_length=1, description="built-in programs by name, e.g. [runqlat, syscalls]")
    interval: Duration = Field(5.0, gt=0, description="how often maps are read")
    attach: list[AttachKind] | None = Field(
        None, description="attach kinds allowed, for kernels where a preferred kind misbehaves"
    )

    @field_validator("programs")
    @classmethod
    def _known_programs(cls, value: list[str]) -> list[str]:
        from receivers.ebpf_maps.programs import CATALOG

        unknown = [p for p in value if p not in CATALOG]
        if unknown:
            raise ValueError(f"unknown program {unknown[0]!r}; built-in map programs: {', '.join(sorted(CATALOG))}")
        if len(set(value)) != len(value):
            raise ValueError("a program is listed twice")
        return value
