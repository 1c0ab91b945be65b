"""The default pipeline's programs, loaded into the real kernel: exact syscall
counts, and run-queue latency under real CPU pressure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.model import HistogramPoint, NumberPoint
from tests.integration.receiver_harness import make_receiver
from tests.integration.workloads import build, cpu_pressure, make_getppid_calls

pytestmark = pytest.mark.usefixtures("bpf")


@pytest.mark.parametrize("attach", [None, ["raw_tp"], ["tracepoint"]], ids=["preferred", "raw_tp", "tracepoint"])
async def test_syscall_count_is_exact(tmp_path: Path, attach: list[str] | None) -> None:
    binary = build(tmp_path, "getppid")
    comm = f"ppid{os.getpid() % 10000}{len(attach or [])}"  # unique, under 16 chars
    receiver, capture = make_receiver("ebpf_maps", {"programs": ["syscalls"], "interval": "1h", "attach": attach})
    await receiver.start()
    try:
        kind = receiver._loaded[0][1].attached["sys_enter"].kind  # type: ignore[attr-defined]
        assert kind == (attach[0] if attach else "tp_btf")
        make_getppid_calls(binary, comm, 12345)
        await receiver.poll()  # type: ignore[attr-defined]
    finally:
        await receiver.shutdown()
    metric = capture.last_metric("ebpf_syscalls")
    assert metric.monotonic
    mine = {p.attributes["syscall"]: p.value for p in metric.points if p.attributes["comm"] == comm}
    assert isinstance(metric.points[0], NumberPoint)
    assert mine["getppid"] == 12345
    assert "execve" not in mine or mine["execve"] >= 0  # names, not numbers
    assert all(not str(name).startswith("syscall_") for name in mine)


async def test_runq_latency_under_cpu_pressure_is_consistent(tmp_path: Path) -> None:
    spin = build(tmp_path, "spin")
    receiver, capture = make_receiver("ebpf_maps", {"programs": ["runqlat"], "interval": "1h"})
    await receiver.start()
    try:
        await receiver.poll()  # type: ignore[attr-defined]
        before = capture.last_metric("ebpf_runq_latency").points[0]
        # 2 cores here: 6 spinners must wait for a CPU, preempted again and again
        cpu_pressure(spin, processes=6, seconds=1.0)
        await receiver.poll()  # type: ignore[attr-defined]
        after = capture.last_metric("ebpf_runq_latency").points[0]
    finally:
        await receiver.shutdown()
    assert isinstance(before, HistogramPoint) and isinstance(after, HistogramPoint)
    new = [a - b for a, b in zip(after.counts, before.counts, strict=True)]
    assert sum(new) > 50, "CPU pressure must produce run-queue latency samples"
    assert all(c >= 0 for c in new), "cumulative buckets never go down"
    # Each sample in bucket i lies in (bound[i-1], bound[i]]: the sum must fit the buckets.
    bounds = [0.0, *after.bounds, float("inf")]
    lower = sum(c * bounds[i] for i, c in enumerate(after.counts))
    upper = sum(c * bounds[i + 1] for i, c in enumerate(after.counts) if c)
    assert lower <= after.sum <= upper
    # With 6 CPU hogs on 2 CPUs tasks wait a scheduler slice: milliseconds, not microseconds.
    ms_index = next(i for i, b in enumerate(after.bounds) if b >= 0.001)
    assert sum(new[ms_index:]) > 0
    assert after.count == sum(after.counts) and after.start_time_ns == before.start_time_ns
