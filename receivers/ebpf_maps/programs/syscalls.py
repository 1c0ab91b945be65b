"""syscalls: system calls counted per syscall and process name (bpf/syscalls.bpf.c)."""

from __future__ import annotations

import numpy as np

from collector.bpf import BpfObject
from collector.model import Metric, MetricKind, NumberPoint
from collector.syscalls import syscall_name
from receivers.ebpf_maps.programs.base import MapProgram

KEY = np.dtype([("syscall_id", "<u4"), ("comm", "S16")])  # struct syscall_key
VALUE = np.dtype("<u8")


def collect(obj: BpfObject, start_ns: int, now_ns: int) -> list[Metric]:
    keys, counts = obj.map("syscall_counts").read(KEY, VALUE)
    points = [
        NumberPoint(
            {"syscall": syscall_name(int(nr)), "comm": comm.decode("utf-8", "replace")},
            int(count),
            start_ns,
            now_ns,
        )
        for nr, comm, count in zip(keys["syscall_id"].tolist(), keys["comm"].tolist(), counts.tolist(), strict=True)
    ]
    return [
        Metric(
            "ebpf_syscalls",
            MetricKind.SUM,
            list(points),
            description="System calls made, by syscall and process name",
            monotonic=True,
        )
    ]


SYSCALLS = MapProgram(
    name="syscalls",
    description="system calls per syscall name and process name, counted in the kernel",
    object="syscalls",
    collect=collect,
)
