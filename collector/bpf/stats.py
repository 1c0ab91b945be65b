"""Self-telemetry for loaded BPF programs: which are loaded with which attach kind,
and (when asked, since it has a cost) how long and how often each one ran.

    stats = ProgramStats(ctx.telemetry, receiver="ebpf_programs", run_time=True)
    stats.track(obj, program="biolatency")   # after BpfObject.load
    stats.untrack(obj)                       # before obj.close()

Run time and run count come from struct bpf_prog_info (bpf_obj_get_info_by_fd),
read at each telemetry collection; the kernel only counts them while statistics
are enabled (bpf_enable_stats, held for as long as this object is open)."""

from __future__ import annotations

import logging
import os

from collector.bpf.info import enable_run_time_stats, prog_info
from collector.bpf.libbpf import LibbpfError
from collector.bpf.loader import BpfObject
from collector.telemetry import Telemetry

log = logging.getLogger("ebpf_collector.bpf")

Labels = tuple[tuple[str, str], ...]


class ProgramStats:
    def __init__(self, telemetry: Telemetry, receiver: str, run_time: bool = False) -> None:
        self.receiver = receiver
        self._loaded = telemetry.gauge("bpf_programs_loaded", "BPF programs loaded and attached, by attach kind")
        self._run_time = telemetry.counter(
            "bpf_program_run_time", "Time BPF programs spent running (kernel BPF statistics, when enabled)", "s"
        )
        self._run_count = telemetry.counter(
            "bpf_program_runs", "Times BPF programs ran (kernel BPF statistics, when enabled)"
        )
        self._tracked: dict[int, tuple[dict[str, str], int, int]] = {}  # prog fd -> labels, last ns, last count
        self._stats_fd = -1
        if run_time:
            try:
                self._stats_fd = enable_run_time_stats()
            except LibbpfError as exc:
                log.warning("%s: cannot enable BPF run-time statistics (%s); run time will read 0", receiver, exc)
            telemetry.on_collect(self.refresh)

    @property
    def run_time_enabled(self) -> bool:
        return self._stats_fd >= 0

    def track(self, obj: BpfObject, program: str) -> None:
        for handler, variant in obj.attached.items():
            labels = {"receiver": self.receiver, "program": program, "handler": handler, "attach": variant.kind}
            self._loaded.set(1, **labels)
            fd = obj.program_fds.get(variant.name, -1)
            if fd >= 0:
                self._tracked[fd] = (labels, 0, 0)
        self.refresh()

    def untrack(self, obj: BpfObject) -> None:
        self.refresh()  # a last reading before the program goes away
        for variant in obj.attached.values():
            fd = obj.program_fds.get(variant.name, -1)
            entry = self._tracked.pop(fd, None)
            if entry is not None:
                self._loaded.set(0, **entry[0])

    def refresh(self) -> None:
        if self._stats_fd < 0:
            return
        for fd, (labels, last_ns, last_cnt) in list(self._tracked.items()):
            try:
                info = prog_info(fd)
            except OSError:
                continue
            stat_labels = {k: labels[k] for k in ("receiver", "program", "handler")}
            self._run_time.add((info.run_time_ns - last_ns) * 1e-9, **stat_labels)
            self._run_count.add(info.run_cnt - last_cnt, **stat_labels)
            self._tracked[fd] = (labels, info.run_time_ns, info.run_cnt)

    def close(self) -> None:
        if self._stats_fd >= 0:
            os.close(self._stats_fd)
            self._stats_fd = -1
