"""One event stream: a loaded program, its buffer reader, and its loss counter."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from collector.bpf import BpfLoadError, BpfObject
from collector.bpf.btf import Btf, BtfError
from collector.bpf.libbpf import MAP_PERF_EVENT_ARRAY, MAP_RINGBUF
from collector.bpf.objects import builtin_object
from collector.model import EventBatch, now_ns
from receivers.ebpf_events import columns
from receivers.ebpf_events.catalog import CATALOG, Enrich
from receivers.ebpf_events.config import CustomProgram, EbpfEventsConfig
from receivers.ebpf_events.objsetup import EventSettings
from receivers.ebpf_events.perfbuf import PerfBuffer
from receivers.ebpf_events.ringbuf import RingBuffer

Array = np.ndarray[Any, Any]
_SCALARS = {"u8": "u1", "u16": "<u2", "u32": "<u4", "u64": "<u8", "s8": "i1", "s16": "<i2", "s32": "<i4",
            "s64": "<i8", "f32": "<f4", "f64": "<f8"}  # fmt: skip


def schema_dtype(schema: dict[str, str]) -> np.dtype[Any]:
    """A declared layout (packed, in order) -> numpy dtype."""
    fields = []
    for name, type_ in schema.items():
        if type_ in _SCALARS:
            fields.append((name, _SCALARS[type_]))
        else:
            size = int(type_[type_.index("[") + 1 : -1])
            fields.append((name, f"S{size}" if type_.startswith("char") else f"V{size}"))
    return np.dtype(fields)


@dataclass(slots=True)
class StreamSpec:
    name: str
    object: Path
    map: str
    struct: str
    lost_map: str
    dtype: np.dtype[Any] | None
    enrich: Enrich | None
    builtin: bool
    rodata: dict[str, int]

    @classmethod
    def of(cls, program: str | CustomProgram, config: EbpfEventsConfig) -> StreamSpec:
        if isinstance(program, str):
            p = CATALOG[program]
            rodata = p.rodata(config) if p.rodata else {}
            obj = builtin_object(p.object)
            return cls(p.name, obj, "events", p.struct, "lost_events", None, p.enrich, True, rodata)
        dtype = schema_dtype(program.event_schema) if program.event_schema else None
        return cls(program.name, program.object, program.map, program.struct, program.lost_map, dtype, None, False, {})


class EventStream:
    """Loaded and reading. `read()` returns one EventBatch (or None) and never blocks."""

    def __init__(self, spec: StreamSpec, config: EbpfEventsConfig, rodata: dict[str, int] | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        if not spec.object.is_file():
            raise BpfLoadError(f"program {spec.name}: {spec.object} does not exist")
        self.dtype = spec.dtype if spec.dtype is not None else self._btf_dtype(spec)
        use_perf = config.transport == "perf"
        settings = EventSettings(
            ring_bytes=config.buffer_size,
            use_perf=use_perf,
            wakeup_bytes=config.wakeup_threshold,
            ring_map=spec.map,
            rodata={**spec.rodata, **(rodata or {})},
        )
        self.obj = BpfObject.load(spec.object, spec.name, config.attach, prepare=settings)
        self.reader: RingBuffer | PerfBuffer
        try:
            # Objects following bpf/events.bpf.h carry both transports; others name their map.
            bpf_map = self.obj.map("events_perf" if use_perf and "events_perf" in self.obj.maps else spec.map)
            if bpf_map.type == MAP_RINGBUF:
                self.reader = RingBuffer(bpf_map.fd, bpf_map.max_entries, self.dtype)
            elif bpf_map.type == MAP_PERF_EVENT_ARRAY:
                pages = max(1, config.buffer_size // 4096)
                self.reader = PerfBuffer(bpf_map.fd, self.dtype, pages, config.wakeup_threshold)
            else:
                raise BpfLoadError(
                    f"program {spec.name}: map {bpf_map.name!r} is neither a RINGBUF nor a PERF_EVENT_ARRAY"
                )
        except Exception:
            self.obj.close()
            raise
        self._lost_map = self.obj.maps.get(spec.lost_map)
        self._lost_seen = 0
        self._perf_lost_seen = 0

    @staticmethod
    def _btf_dtype(spec: StreamSpec) -> np.dtype[Any]:
        try:
            with Btf.from_file(spec.object) as btf:
                return btf.struct_dtype(spec.struct)
        except BtfError as exc:
            raise BpfLoadError(
                f"program {spec.name}: {exc}; name the event struct with `struct:` or declare `schema:`"
            ) from exc

    @property
    def fds(self) -> list[int]:
        """File descriptors that become readable when the program asks for a wakeup."""
        return self.reader.fds if isinstance(self.reader, PerfBuffer) else [self.reader.fd]

    def read(self) -> EventBatch | None:
        records = self.reader.read()
        if not len(records):
            return None
        extra: dict[str, Array] = {}
        if "ts_ns" in (records.dtype.names or ()):
            # bpf_ktime_get_ns() is CLOCK_MONOTONIC: one offset per batch gives wall-clock times
            offset = time.time_ns() - time.monotonic_ns()
            extra["time_unix_nano"] = records["ts_ns"].astype(np.uint64) + np.uint64(offset)
        if self.spec.enrich is not None:
            extra.update(self.spec.enrich(records))  # before cleaning: exec's argv is NUL-separated
        columns.clear_after_nul(records)
        return EventBatch(source=self.name, records=records, time_ns=now_ns(), columns=extra)

    def lost(self) -> int:
        """Events lost since the last call: ring buffer reserve failures counted by the
        program, plus the kernel's PERF_RECORD_LOST counts."""
        delta = 0
        if self._lost_map is not None:
            raw = self._lost_map.lookup(b"\0\0\0\0")
            if raw is not None:
                total = int(np.frombuffer(raw, np.uint64).sum())
                delta += total - self._lost_seen
                self._lost_seen = total
        if isinstance(self.reader, PerfBuffer):
            delta += self.reader.lost - self._perf_lost_seen
            self._perf_lost_seen = self.reader.lost
        return delta

    def close(self) -> None:
        self.reader.close()
        self.obj.close()
