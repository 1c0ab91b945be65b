from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass, field

from collector.bpf import BpfLoadError, BpfObject
from collector.bpf.attach import MANUAL_ATTACH
from collector.bpf.btf import Btf, BtfError
from collector.bpf.stats import ProgramStats
from collector.component import ComponentContext, ComponentError, Receiver
from collector.decoders import DecoderContext, LabelDecodeError
from collector.mapmetrics import BoundMetric, MapMetricError, bind, collect
from collector.model import Metric, now_ns
from collector.polling import MapPoller
from receivers.ebpf_programs.config import EbpfProgramsConfig
from receivers.ebpf_programs.sockets import attach_socket_filter
from receivers.ebpf_programs.sources import ProgramSource, SourceError, resolve


@dataclass(slots=True)
class _Loaded:
    source: ProgramSource
    obj: BpfObject
    metrics: list[BoundMetric]
    start_ns: int
    sockets: list[socket.socket] = field(default_factory=list)


def node_name() -> str:
    return os.environ.get("NODE_NAME") or socket.gethostname()


class EbpfProgramsReceiver(Receiver[EbpfProgramsConfig]):
    """Loads ebpf_exporter-style programs (a CO-RE object plus counters and
    histograms described in its YAML schema), attaches them from their SEC()
    names and reads their maps on an interval."""

    def __init__(self, config: EbpfProgramsConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._loaded: list[_Loaded] = []
        self.poller = MapPoller(ctx, config.interval, self._collect, self.emit)
        self._stats: ProgramStats | None = None
        telemetry = ctx.telemetry
        self._skipped = telemetry.counter(
            "receiver_series_skipped", "Map entries dropped by decoders (regexp) when reading"
        )
        self._extra = {config.node_label: node_name()} if config.node_label else {}

    async def start(self) -> None:
        receiver = f"receivers.{self.ctx.id}"
        self._stats = ProgramStats(self.ctx.telemetry, str(self.ctx.id), run_time=self.config.bpf_stats)
        try:
            for path, program in self.config.all_programs():
                source = resolve(self.config, path, program, receiver)
                loaded = await asyncio.to_thread(self._load, source)
                self._loaded.append(loaded)
                self._attach_sockets(loaded, program.socket.interface)
                self._stats.track(loaded.obj, source.name)
        except (SourceError, BpfLoadError, MapMetricError, OSError) as exc:
            await self.shutdown()
            raise ComponentError(str(exc)) from exc
        self.poller.start()

    def _load(self, source: ProgramSource) -> _Loaded:
        obj = BpfObject.load(source.object, source.name, self.config.attach)
        try:
            with contextlib.ExitStack() as stack:
                btf = None
                with contextlib.suppress(BtfError):  # no BTF: labels need explicit sizes (bind() says so)
                    btf = stack.enter_context(Btf.from_file(source.object))
                ctx = DecoderContext(lookup=lambda name, key: obj.map(name).lookup(key))
                metrics = bind(source.metrics, obj.maps, btf, source.where, ctx)
        except BaseException:
            obj.close()
            raise
        return _Loaded(source, obj, metrics, now_ns())

    def _attach_sockets(self, loaded: _Loaded, interface: str | None) -> None:
        for variant in loaded.obj.attached.values():
            if variant.kind in MANUAL_ATTACH:
                fd = loaded.obj.program_fds[variant.name]
                try:
                    loaded.sockets.append(attach_socket_filter(fd, interface))
                except OSError as exc:
                    where = f"interface {interface!r}" if interface else "all interfaces"
                    raise OSError(
                        exc.errno, f"{loaded.source.name}: cannot attach socket filter to {where}: {exc.strerror}"
                    ) from None
                self.log.info("%s: %s attached to a packet socket on %s", loaded.source.name, variant.name,
                              interface or "every interface")  # fmt: skip

    async def poll(self) -> None:
        """Read every map once and emit one batch."""
        await self.poller.poll()

    def _collect(self) -> list[Metric]:
        now = now_ns()
        out: list[Metric] = []
        for loaded in self._loaded:
            for bound in loaded.metrics:
                name = self.config.metric_prefix + bound.spec.name
                try:
                    metric, skipped = collect(bound, name, loaded.start_ns, now)
                except (OSError, ValueError, LabelDecodeError) as exc:
                    # One broken metric must not hide the others.
                    self.poller.failures.add(receiver=str(self.ctx.id), metric=name)
                    self.log.error("%s: reading %s failed: %s", loaded.source.name, name, exc)
                    continue
                if skipped:
                    self._skipped.add(skipped, receiver=str(self.ctx.id), metric=name)
                if self._extra:
                    for point in metric.points:
                        point.attributes = {**point.attributes, **self._extra}
                out.append(metric)
        return out

    async def shutdown(self) -> None:
        """Stop polling, emit a last reading so nothing counted is lost, detach."""
        await self.poller.stop()
        for loaded in self._loaded:
            for sock in loaded.sockets:
                sock.close()
            if self._stats is not None:
                self._stats.untrack(loaded.obj)
            loaded.obj.close()
        self._loaded.clear()
        if self._stats is not None:
            self._stats.close()
