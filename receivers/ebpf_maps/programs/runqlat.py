"""runqlat: time a task waits runnable for a CPU (after a wakeup or preemption).

The kernel keeps a log2 histogram (bpf/runqlat.bpf.c): slot s counts latencies d
in (2^(s-1), 2^s] ns, the upper-inclusive convention of OTel histograms, so each
slot maps exactly onto one explicit bucket with upper bound 2^s ns."""

from __future__ import annotations

import numpy as np

from collector.bpf import BpfObject
from collector.model import HistogramPoint, Metric, MetricKind
from collector.model.buckets import NS_SLOT_BOUNDS_SECONDS, ns_slots_to_seconds_buckets
from receivers.ebpf_maps.programs.base import MapProgram

SLOTS = 64
KEY = np.dtype("<u4")
VALUE = np.dtype([("slots", "<u8", (SLOTS,)), ("sum_ns", "<u8")])  # struct runq_hist

def collect(obj: BpfObject, start_ns: int, now_ns: int) -> list[Metric]:
    _, values = obj.map("runq_hist").read(KEY, VALUE)
    hist = values[0]
    point = HistogramPoint(
        attributes={},
        bounds=NS_SLOT_BOUNDS_SECONDS,
        counts=ns_slots_to_seconds_buckets(hist["slots"]),
        sum=int(hist["sum_ns"]) * 1e-9,
        start_time_ns=start_ns,
        time_ns=now_ns,
    )
    return [
        Metric(
            "ebpf_runq_latency",
            MetricKind.HISTOGRAM,
            [point],
            description="Time tasks spent runnable waiting for a CPU (after wakeup or preemption)",
            unit="s",
        )
    ]


RUNQLAT = MapProgram(
    name="runqlat",
    description="run-queue latency histogram (wakeup/preemption to running), log2 in the kernel",
    object="runqlat",
    collect=collect,
)
