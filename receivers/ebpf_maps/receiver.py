from __future__ import annotations

import asyncio

from collector.bpf import BpfLoadError, BpfObject
from collector.bpf.objects import builtin_object
from collector.component import ComponentContext, ComponentError, Receiver
from collector.model import Metric, now_ns
from collector.polling import MapPoller
from receivers.ebpf_maps.config import EbpfMapsConfig
from receivers.ebpf_maps.programs import CATALOG, MapProgram


class EbpfMapsReceiver(Receiver[EbpfMapsConfig]):
    """Loads built-in programs that aggregate in the kernel and reads their maps on
    an interval. Cost grows with the number of series, never with the event rate."""

    def __init__(self, config: EbpfMapsConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._loaded: list[tuple[MapProgram, BpfObject, int]] = []
        self.poller = MapPoller(ctx, config.interval, self._collect, self.emit)
        telemetry = self.ctx.telemetry
        self._programs_gauge = telemetry.gauge(
            "bpf_programs_loaded", "BPF programs loaded and attached, by attach kind"
        )

    async def start(self) -> None:
        for name in self.config.programs:
            program = CATALOG[name]
            try:
                obj = await asyncio.to_thread(
                    BpfObject.load, builtin_object(program.object), program.name, self.config.attach
                )
            except (BpfLoadError, OSError) as exc:
                await self.shutdown()
                raise ComponentError(str(exc)) from exc
            self._loaded.append((program, obj, now_ns()))
            for handler, variant in obj.attached.items():
                self._programs_gauge.set(
                    1, receiver=str(self.ctx.id), program=name, handler=handler, attach=variant.kind
                )
        self.poller.start()

    async def poll(self) -> None:
        """Read every map once and emit one batch."""
        await self.poller.poll()

    def _collect(self) -> list[Metric]:
        now = now_ns()
        metrics: list[Metric] = []
        for program, obj, start_ns in self._loaded:
            metrics.extend(program.collect(obj, start_ns, now))
        return metrics

    async def shutdown(self) -> None:
        """Stop polling, emit a last reading so nothing counted is lost, detach."""
        await self.poller.stop()
        for program, obj, _ in self._loaded:
            for handler, variant in obj.attached.items():
                self._programs_gauge.set(
                    0, receiver=str(self.ctx.id), program=program.name, handler=handler, attach=variant.kind
                )
            obj.close()
        self._loaded.clear()
