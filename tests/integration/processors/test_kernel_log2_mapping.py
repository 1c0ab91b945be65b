"""The runqlat program's real kernel log2 slots map exactly onto an exponential
histogram at scale 0 and onto power-of-two explicit bounds."""

from __future__ import annotations

import time

import numpy as np

from collector.bpf import BpfObject
from collector.bpf.objects import builtin_object
from collector.model import buckets as bk
from receivers.ebpf_maps.programs.runqlat import KEY, VALUE


def test_runqlat_slots_map_onto_otel_buckets(bpf: None) -> None:
    obj = BpfObject.load(builtin_object("runqlat"), "runqlat", None)
    try:
        deadline = time.monotonic() + 5
        slots = np.zeros(64, dtype=np.int64)
        while slots.sum() < 100 and time.monotonic() < deadline:
            time.sleep(0.05)  # sleeping and waking up makes run-queue latency samples
            _, values = obj.map("runq_hist").read(KEY, VALUE)
            slots = values[0]["slots"].astype(np.int64)
    finally:
        obj.close()
    assert slots.sum() >= 100
    offset, counts = bk.log2_slots_to_exponential(slots)
    assert sum(counts) == slots.sum()
    first = int(np.flatnonzero(slots)[0])
    assert offset == first - 1  # slot s holds (2^(s-1), 2^s]: index s-1 at scale 0
    assert counts == slots[first : first + len(counts)].tolist()
    # Explicit bounds in seconds, 2^10 .. 2^36 ns: slots <= 10 fold into the first bucket,
    # each slot 11..36 is one bucket, the rest is +Inf; nothing is lost or split.
    buckets = bk.ns_slots_to_seconds_buckets(slots)
    assert len(buckets) == len(bk.NS_SLOT_BOUNDS_SECONDS) + 1 and sum(buckets) == slots.sum()
    assert buckets[0] == slots[:11].sum() and buckets[1:-1] == slots[11:37].tolist()
    assert buckets[-1] == slots[37:].sum()
