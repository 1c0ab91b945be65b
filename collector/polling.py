"""The interval loop every map-reading receiver shares.

`MapPoller` reads kernel state (BPF maps) on an interval in a worker thread and
emits one MetricBatch per reading; on shutdown it stops the loop and takes a
last reading, so nothing counted since the previous one is lost. A failed
reading is counted in `ebpf_collector_receiver_poll_errors_total` and logged;
the next interval tries again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from collector.component import ComponentContext
from collector.model import Metric, MetricBatch


class MapPoller:
    def __init__(
        self,
        ctx: ComponentContext,
        interval: float,
        collect: Callable[[], list[Metric]],
        emit: Callable[[str, MetricBatch], object],
        errors: tuple[type[BaseException], ...] = (OSError, ValueError),
    ) -> None:
        self.ctx = ctx
        self.interval = interval
        self.collect = collect  # runs in a worker thread
        self.emit = emit
        self.errors = errors
        self.failures = ctx.telemetry.counter("receiver_poll_errors", "Failed reads of BPF maps")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"receiver:{self.ctx.id}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.poll()

    async def poll(self) -> None:
        """Read once now and emit what was read."""
        try:
            metrics = await asyncio.to_thread(self.collect)
        except self.errors as exc:
            self.failures.add(receiver=str(self.ctx.id))
            self.ctx.logger.getChild(str(self.ctx.id)).error("reading maps failed: %s", exc)
            return
        if metrics:
            result = self.emit("metrics", MetricBatch(metrics))
            if asyncio.iscoroutine(result):
                await result

    async def stop(self) -> None:
        """Stop the loop and take a last reading (only if it was running). Idempotent."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self.poll()
