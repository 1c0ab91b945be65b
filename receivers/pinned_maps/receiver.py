from __future__ import annotations

import asyncio
import contextlib

from collector.component import ComponentContext, ComponentError, Receiver
from collector.model import Metric, MetricBatch, now_ns
from receivers.pinned_maps.config import PinnedMapsConfig
from receivers.pinned_maps.pinned import PinnedMap, PinnedMapError


class PinnedMapsReceiver(Receiver[PinnedMapsConfig]):
    """Reads maps pinned on bpffs by other loaders, typed from their own BTF."""

    def __init__(self, config: PinnedMapsConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._maps: list[PinnedMap] = []
        self._task: asyncio.Task[None] | None = None
        self._start_ns = now_ns()
        self._poll_errors = ctx.telemetry.counter("receiver_poll_errors", "Failed reads of BPF maps")

    async def start(self) -> None:
        for i, map_config in enumerate(self.config.maps):
            try:
                self._maps.append(await asyncio.to_thread(PinnedMap, map_config))
            except (PinnedMapError, OSError, ValueError) as exc:
                await self.shutdown()
                raise ComponentError(f"receivers.{self.ctx.id}.maps[{i}]: {exc}") from exc
        self._start_ns = now_ns()
        self._task = asyncio.create_task(self._poll_loop(), name=f"receiver:{self.ctx.id}")

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval)
            await self.poll()

    async def poll(self) -> None:
        metrics = await asyncio.to_thread(self._collect)
        if metrics:
            await self.emit("metrics", MetricBatch(metrics))

    def _collect(self) -> list[Metric]:
        now = now_ns()
        out: list[Metric] = []
        for pinned in self._maps:
            try:
                out.extend(pinned.collect(self.config.metric_prefix, self._start_ns, now))
            except (PinnedMapError, OSError, ValueError) as exc:
                self._poll_errors.add(receiver=str(self.ctx.id), map=str(pinned.config.path))
                self.log.error("reading %s failed: %s", pinned.config.path, exc)
        return out

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            await self.poll()
        for pinned in self._maps:
            pinned.close()
        self._maps.clear()
