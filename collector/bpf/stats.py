"""Self-telemetry for loaded BPF programs: which are loaded with which attach kind,
and (when asked, since it has a cost) how long and how often each one ran.

    stats = ProgramStats(ctx.telemetry, receiver="ebpf_programs", run_time=config.bpf_stats)
    stats.track(obj, program="biolatency")   # after BpfObject.load
    stats.untrack(obj)                       # before obj.close()
    stats.close()                            # at shutdown

Programs loaded by something other than BpfObject (BCC) go in one at a time with
`add(owner, fd, program, handler, attach)` and leave with `untrack(owner)`.

Run time and run count come from struct bpf_prog_info (bpf_obj_get_info_by_fd),
read at each telemetry collection; the kernel only counts them while statistics
are enabled (bpf_enable_stats, held for as long as this object is open)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from pydantic import Field

from collector.bpf.info import enable_run_time_stats, prog_info
from collector.bpf.libbpf import LibbpfError
from collector.bpf.loader import BpfObject
from collector.component import ComponentConfig
from collector.telemetry import Telemetry

log = logging.getLogger("ebpf_collector.bpf")


class BpfStatsOption(ComponentConfig):
    """The `bpf_stats` option, shared by every receiver that loads BPF programs."""

    bpf_stats: bool = Field(
        False,
        description="measure each program's run time and run count (kernel BPF statistics, as "
        "kernel.bpf_stats_enabled: a small cost on every program run)",
    )


@dataclass(slots=True)
class _Tracked:
    owner: object  # what untrack() is called with: a BpfObject, or the receiver's own handle
    labels: dict[str, str]  # receiver, program, handler, attach
    fd: int  # program fd, -1 when unknown (then only the loaded gauge)
    run_ns: int = 0
    runs: int = 0


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
        self._tracked: list[_Tracked] = []
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
        """Every handler `obj` loaded, under `program`."""
        for handler, variant in obj.attached.items():
            self.add(obj, obj.program_fds.get(variant.name, -1), program, handler, variant.kind)

    def add(self, owner: object, fd: int, program: str, handler: str, attach: str) -> None:
        labels = {"receiver": self.receiver, "program": program, "handler": handler, "attach": attach}
        self._loaded.set(1, **labels)
        entry = _Tracked(owner, labels, fd)
        self._tracked.append(entry)
        self._read(entry)  # the program is fresh: what it ran since loading counts

    def untrack(self, owner: object) -> None:
        """Before `owner`'s programs go away: a last reading, and loaded drops to 0."""
        keep = []
        for entry in self._tracked:
            if entry.owner is owner:
                self._read(entry)
                self._loaded.set(0, **entry.labels)
            else:
                keep.append(entry)
        self._tracked = keep

    def refresh(self) -> None:
        for entry in self._tracked:
            self._read(entry)

    def _read(self, entry: _Tracked) -> None:
        if self._stats_fd < 0 or entry.fd < 0:
            return
        try:
            info = prog_info(entry.fd)
        except OSError:
            return
        labels = {k: entry.labels[k] for k in ("receiver", "program", "handler")}
        self._run_time.add((info.run_time_ns - entry.run_ns) * 1e-9, **labels)
        self._run_count.add(info.run_cnt - entry.runs, **labels)
        entry.run_ns, entry.runs = info.run_time_ns, info.run_cnt

    def close(self) -> None:
        """Untrack what is left and stop the kernel statistics (idempotent)."""
        for owner in {id(e.owner): e.owner for e in self._tracked}.values():
            self.untrack(owner)
        if self._stats_fd >= 0:
            os.close(self._stats_fd)
            self._stats_fd = -1
