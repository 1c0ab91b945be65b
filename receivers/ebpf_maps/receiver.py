from __future__ import annotations

import asyncio

from collector.bpf import BpfLoadError, BpfObject
from collector.bpf.objects import builtin_object
from collector.bpf.stats import ProgramStats
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
        self._stats: ProgramStats | None = None

    async def start(self) -> None:
        self._stats = ProgramStats(self.ctx.telemetry, str(self.ctx.id), run_time=self.config.bpf_stats)
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
            self._stats.track(obj, name)
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
        for _, obj, _ in self._loaded:
            if self._stats is not None:
                self._stats.untrack(obj)
            obj.close()
        self._loaded.clear()
        if self._stats is not None:
            self._stats.close()
