from __future__ import annotations

import asyncio

from collector.component import ComponentContext, ComponentError, Receiver
from collector.model import Metric, now_ns
from collector.polling import MapPoller
from receivers.pinned_maps.config import PinnedMapsConfig
from receivers.pinned_maps.pinned import PinnedMap, PinnedMapError


class PinnedMapsReceiver(Receiver[PinnedMapsConfig]):
    """Reads maps pinned on bpffs by other loaders, typed from their own BTF."""

    def __init__(self, config: PinnedMapsConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._maps: list[PinnedMap] = []
        self._start_ns = now_ns()
        self.poller = MapPoller(ctx, config.interval, self._collect, self.emit)

    async def start(self) -> None:
        for i, map_config in enumerate(self.config.maps):
            try:
                self._maps.append(await asyncio.to_thread(PinnedMap, map_config))
            except (PinnedMapError, OSError, ValueError) as exc:
                await self.shutdown()
                raise ComponentError(f"receivers.{self.ctx.id}.maps[{i}]: {exc}") from exc
        self._start_ns = now_ns()
        self.poller.start()

    async def poll(self) -> None:
        await self.poller.poll()

    def _collect(self) -> list[Metric]:
        now = now_ns()
        out: list[Metric] = []
        for pinned in self._maps:
            try:
                out.extend(pinned.collect(self.config.metric_prefix, self._start_ns, now))
            except (PinnedMapError, OSError, ValueError) as exc:
                self.poller.failures.add(receiver=str(self.ctx.id), map=str(pinned.config.path))
                self.log.error("reading %s failed: %s", pinned.config.path, exc)
        return out

    async def shutdown(self) -> None:
        await self.poller.stop()
        for pinned in self._maps:
            pinned.close()
        self._maps.clear()
