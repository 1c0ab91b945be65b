"""Receiver `uprobe`: counts (and times) calls of functions in unmodified binaries.

One CO-RE object (bpf/uprobe.bpf.c) serves every configured probe: its two
programs are attached once per function with the probe's index as BPF cookie,
and the kernel counts per index into per-CPU arrays read on an interval. Cost
in user space is per probe, never per call.

Targets are re-resolved every `resolve_interval`: a binary replaced on disk
(new inode) is re-attached, and for `process` targets the pid filter follows
the processes as they come and go. Counts live in the maps, so they carry on
across re-attachment.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from collector.bpf import BpfLoadError, BpfObject
from collector.bpf.libbpf import LibbpfError
from collector.bpf.objects import builtin_object
from collector.bpf.stats import ProgramStats
from collector.component import ComponentContext, ComponentError, Receiver
from collector.model import HistogramPoint, Metric, MetricBatch, MetricKind, NumberPoint, Point, now_ns
from collector.model.buckets import NS_SLOT_BOUNDS_SECONDS, ns_slots_to_seconds_buckets
from receivers.uprobe import attach, symbols
from receivers.uprobe.config import ProbeConfig, UprobeConfig
from receivers.uprobe.targets import Resolved, TargetError, resolve_target

FLAG_LATENCY = 1
SLOTS = 64
KEY = np.dtype("<u4")
COUNT = np.dtype("<u8")
HIST = np.dtype([("slots", "<u8", (SLOTS,)), ("sum_ns", "<u8")])  # struct uprobe_hist

# Exported buckets: 2^10 ns (~1 µs) .. 2^36 ns (~69 s), upper-inclusive like the
# kernel's slots; smaller slots fold into the first bucket, larger into +Inf.

GO_LATENCY = (
    "is a Go binary: uretprobes corrupt Go programs (the runtime moves goroutine stacks, and the "
    "return address the uretprobe planted moves with them), so `latency: true` is refused; counting works"
)


@dataclass(slots=True)
class _Probe:
    index: int  # the BPF cookie and map index
    config: ProbeConfig
    resolved: Resolved | None = None
    symbol: str | None = None
    links: dict[int, list[int]] = field(default_factory=dict)  # pid (-1: all) -> [entry, return] links
    waiting_logged: bool = False

    @property
    def name(self) -> str:
        return f"probes[{self.index}] ({self.config.function or hex(self.config.offset or 0)})"


class UprobeReceiver(Receiver[UprobeConfig]):
    def __init__(self, config: UprobeConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._probes = [_Probe(i, p) for i, p in enumerate(config.probes)]
        self._obj: BpfObject | None = None
        self._programs: tuple[int, int] = (0, 0)
        self._lock = threading.Lock()  # attach/detach and close run in worker threads
        self._tasks: list[asyncio.Task[None]] = []
        self._start_ns = now_ns()
        self._stats: ProgramStats | None = None
        t = ctx.telemetry
        self._attached = t.gauge("uprobe_attachments", "Processes or files each uprobe is attached to")
        self._reattached = t.counter("uprobe_reattachments", "Re-attachments after a target restarted or was replaced")
        self._poll_errors = t.counter("receiver_poll_errors", "Failed reads of BPF maps")

    # -- lifecycle ----------------------------------------------------------
    async def start(self) -> None:
        self._stats = ProgramStats(self.ctx.telemetry, str(self.ctx.id), run_time=self.config.bpf_stats)
        try:
            await asyncio.to_thread(self._load)
            for probe in self._probes:
                await asyncio.to_thread(self._refresh, probe, True)
        except (BpfLoadError, OSError, ComponentError) as exc:
            await self.shutdown()
            raise ComponentError(str(exc)) from exc
        self._start_ns = now_ns()
        self._tasks = [
            asyncio.create_task(self._every(self.config.interval, self.poll), name=f"receiver:{self.ctx.id}:poll"),
            asyncio.create_task(self._every(self.config.resolve_interval, self.refresh), name=f"{self.ctx.id}:res"),
        ]

    async def shutdown(self) -> None:
        """Stop, emit a last reading so nothing counted is lost, detach."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if tasks:
            await self.poll()
        await asyncio.to_thread(self._close)

    async def _every(self, seconds: float, action: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            await action()

    def _load(self) -> None:
        obj = BpfObject.load(builtin_object("uprobe"), f"{self.ctx.id}", autoattach=False)
        self._obj = obj
        self._programs = (obj.program("on_entry"), obj.program("on_return"))
        if self._stats is not None:
            self._stats.track(obj, "uprobe")
        flags = obj.map("probe_flags")
        for probe in self._probes:
            value = FLAG_LATENCY if probe.config.latency else 0
            flags.update(probe.index.to_bytes(4, "little"), value.to_bytes(4, "little"))

    def _close(self) -> None:
        with self._lock:
            for probe in self._probes:
                self._detach(probe, list(probe.links))
            if self._obj is not None:
                if self._stats is not None:
                    self._stats.untrack(self._obj)
                self._obj.close()
                self._obj = None
            if self._stats is not None:
                self._stats.close()

    # -- attaching ------------------------------------------------------------
    async def refresh(self) -> None:
        """Re-resolve every target now (also done every `resolve_interval`)."""
        for probe in self._probes:
            try:
                await asyncio.to_thread(self._refresh, probe, False)
            except ComponentError as exc:  # e.g. the replaced binary lacks the function now
                self.log.error("%s", exc)

    def _refresh(self, probe: _Probe, starting: bool) -> None:
        """Bring probe's attachments in line with what its target is now."""
        c = probe.config
        try:
            now = resolve_target(c.binary, c.process, c.pid, c.container)
        except TargetError as exc:
            if starting and c.process is None:
                raise ComponentError(f"{probe.name}: {exc}") from None
            with self._lock:
                self._detach(probe, list(probe.links))  # the processes are gone: so are their uprobes
            if not probe.waiting_logged:
                self.log.warning("%s: %s; waiting for it", probe.name, exc)
                probe.waiting_logged = True
            return
        probe.waiting_logged = False
        with self._lock:
            if self._obj is None:
                return
            before = probe.resolved
            if before is None or before.inode != now.inode:
                if before is not None:
                    self.log.info("%s: %s changed on disk; re-attaching", probe.name, now.shown)
                    self._reattached.add(receiver=str(self.ctx.id), metric=c.metric)
                self._detach(probe, list(probe.links))
                probe.symbol = self._symbol(probe, now)
            wanted = list(now.pids) or [attach.ALL_PROCESSES]
            self._detach(probe, [pid for pid in probe.links if pid not in wanted])
            new = [pid for pid in wanted if pid not in probe.links]
            for pid in new:
                self._attach(probe, now, pid)
            if before is not None and new and before.inode == now.inode:
                self._reattached.add(len(new), receiver=str(self.ctx.id), metric=c.metric)
            probe.resolved = now
            self._attached.set(len(probe.links), receiver=str(self.ctx.id), metric=c.metric, probe=str(probe.index))

    def _symbol(self, probe: _Probe, target: Resolved) -> str | None:
        c = probe.config
        try:
            info = symbols.inspect_binary(target.path)
            if c.latency and info.is_go:
                raise ComponentError(f"{probe.name}: {target.shown} {GO_LATENCY}")
            return symbols.resolve(info, c.function) if c.function else None
        except symbols.SymbolError as exc:
            raise ComponentError(f"{probe.name}: {exc}") from None

    def _attach(self, probe: _Probe, target: Resolved, pid: int) -> None:
        entry, ret = self._programs
        c = probe.config
        links: list[int] = []
        try:
            links.append(attach.attach_uprobe(entry, target.path, probe.symbol, c.offset or 0, probe.index, False, pid))
            if c.latency:
                links.append(
                    attach.attach_uprobe(ret, target.path, probe.symbol, c.offset or 0, probe.index, True, pid)
                )
        except LibbpfError as exc:
            for link in links:
                attach.destroy(link)
            if pid != attach.ALL_PROCESSES and exc.errno == 3:  # ESRCH: the process exited meanwhile
                return
            raise ComponentError(f"{probe.name}: cannot attach: {exc.strerror}") from None
        probe.links[pid] = links

    def _detach(self, probe: _Probe, pids: list[int]) -> None:
        for pid in pids:
            for link in probe.links.pop(pid, []):
                attach.destroy(link)

    # -- reading ----------------------------------------------------------------
    async def poll(self) -> None:
        try:
            metrics = await asyncio.to_thread(self._collect)
        except (OSError, ValueError) as exc:
            self._poll_errors.add(receiver=str(self.ctx.id))
            self.log.error("reading uprobe counts failed: %s", exc)
            return
        if metrics:
            await self.emit("metrics", MetricBatch(metrics))

    def _collect(self) -> list[Metric]:
        with self._lock:
            if self._obj is None:
                return []
            _, calls = self._obj.map("calls").read(KEY, COUNT)
            hists = self._obj.map("latency").read(KEY, HIST)[1] if any(p.config.latency for p in self._probes) else None
        now = now_ns()
        metrics: dict[str, Metric] = {}
        for probe in self._probes:
            c = probe.config
            point: Point = NumberPoint(dict(c.attributes), int(calls[probe.index]), self._start_ns, now)
            _metric(metrics, c.metric, MetricKind.SUM, c.help, "").points.append(point)
            if c.latency and hists is not None:
                hist = hists[probe.index]
                help_ = c.latency_help or f"Duration of calls of {c.function or 'the probed code'}"
                _metric(metrics, c.histogram_name, MetricKind.HISTOGRAM, help_, "s").points.append(
                    HistogramPoint(
                        attributes=dict(c.attributes),
                        bounds=NS_SLOT_BOUNDS_SECONDS,
                        counts=ns_slots_to_seconds_buckets(hist["slots"]),
                        sum=int(hist["sum_ns"]) * 1e-9,
                        start_time_ns=self._start_ns,
                        time_ns=now,
                    )
                )
        return list(metrics.values())


def _metric(metrics: dict[str, Metric], name: str, kind: MetricKind, help_: str, unit: str) -> Metric:
    if name not in metrics:
        metrics[name] = Metric(name, kind, [], description=help_, unit=unit, monotonic=kind is MetricKind.SUM)
    return metrics[name]
