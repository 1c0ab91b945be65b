from __future__ import annotations

import mmap
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from collector.bpf.stats import BpfStatsOption
from collector.component import ComponentConfig
from collector.config import Duration

AttachKind = Literal["tp_btf", "fentry", "raw_tp", "kprobe", "tracepoint"]
_SCHEMA_TYPE = re.compile(r"^(?:[us](?:8|16|32|64)|f32|f64|char\[(\d+)\]|bytes\[(\d+)\])$")


class CustomProgram(ComponentConfig):
    """A user-supplied CO-RE object that sends fixed-size events through a ring or perf buffer."""

    name: str = Field(min_length=1, description="label for telemetry and the batch source")
    object: Path = Field(description="path to the compiled .bpf.o")
    map: str = Field("events", description="the RINGBUF or PERF_EVENT_ARRAY map the program writes to")
    struct: str = Field("event", description="name of the event struct in the object's BTF")
    lost_map: str = Field(
        "lost_events", description="per-CPU u64 array where the program counts reserve failures (optional)"
    )
    event_schema: dict[str, str] | None = Field(
        None,
        alias="schema",
        description="declared event layout instead of BTF, in C order: field -> u8..u64, s8..s64, f32, f64, "
        "char[N] or bytes[N] (packed, so add padding fields where C would)",
    )

    @field_validator("event_schema")
    @classmethod
    def _schema_types(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for field, type_ in (value or {}).items():
            if not _SCHEMA_TYPE.match(type_):
                raise ValueError(f"field {field!r}: unknown type {type_!r}; use u8..u64, s8..s64, f32, f64, char[N]")
        if value is not None and not value:
            raise ValueError("schema needs at least one field")
        return value


class ProfileConfig(ComponentConfig):
    frequency: int = Field(99, gt=0, le=10000, description="samples per second per CPU")
    interval: Duration = Field(30.0, gt=0, description="folded stacks are emitted once per interval")
    kernel_stacks: bool = Field(True, description="sample kernel stacks")
    user_stacks: bool = Field(True, description="sample user stacks (needs frame pointers in the binaries)")
    include_idle: bool = Field(False, description="count samples of the idle task")


class RunqlatConfig(ComponentConfig):
    min_latency: Duration = Field(
        0.0,
        ge=0,
        le=10,
        description="run-queue waits shorter than this are dropped in the kernel (e.g. 50us keeps event rates "
        "low on busy nodes, but biases low quantiles); 0 sends every wait",
    )


class EbpfEventsConfig(BpfStatsOption):
    """Event streams from eBPF programs, read in batches and decoded as columns."""

    programs: list[str | CustomProgram] = Field(
        min_length=1,
        description="built-in programs by name (exec, proclife, open, tcp, biolatency, oomkill, runqlat, profile) "
        "or custom objects {name, object, map, struct|schema}",
    )
    transport: Literal["ringbuf", "perf"] = Field(
        "ringbuf", description="how built-in programs send events: BPF ring buffer, or perf buffer for old kernels"
    )
    buffer_size: int = Field(
        8 * 1024 * 1024, description="ring buffer bytes per program (perf: bytes per CPU); a power of 2"
    )
    max_latency: Duration = Field(
        0.2, gt=0, le=60, description="longest time an event waits in the kernel buffer before it is read"
    )
    wakeup_bytes: int | None = Field(
        None, gt=0, description="wake the reader early once this many bytes wait (default: a quarter of the buffer)"
    )
    attach: list[AttachKind] | None = Field(None, description="attach kinds allowed, e.g. [tracepoint]")
    profile: ProfileConfig = Field(default_factory=ProfileConfig, description="settings of the profile program")
    runqlat: RunqlatConfig = Field(default_factory=RunqlatConfig, description="settings of the runqlat program")

    @field_validator("programs")
    @classmethod
    def _known(cls, value: list[str | CustomProgram]) -> list[str | CustomProgram]:
        from receivers.ebpf_events.catalog import BUILTIN_NAMES

        names = []
        for p in value:
            if isinstance(p, str) and p not in BUILTIN_NAMES:
                raise ValueError(f"unknown program {p!r}; built-in event programs: {', '.join(BUILTIN_NAMES)}")
            names.append(p if isinstance(p, str) else p.name)
        if len(set(names)) != len(names):
            raise ValueError("a program is listed twice")
        return value

    @field_validator("buffer_size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < mmap.PAGESIZE or value & (value - 1):
            raise ValueError(f"must be a power of 2 of at least {mmap.PAGESIZE} (e.g. 8388608 for 8 MiB)")
        return value

    @model_validator(mode="after")
    def _wakeup_fits(self) -> EbpfEventsConfig:
        if self.wakeup_bytes is not None and self.wakeup_bytes >= self.buffer_size:
            raise ValueError("wakeup_bytes must be smaller than buffer_size")
        return self

    @property
    def wakeup_threshold(self) -> int:
        return self.wakeup_bytes if self.wakeup_bytes is not None else self.buffer_size // 4
