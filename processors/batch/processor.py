from __future__ import annotations

import asyncio
import contextlib

from collector.component import ComponentContext, Processor
from collector.model import Data
from processors.batch.config import BatchConfig
from processors.batch.merge import merge, split


class BatchProcessor(Processor[BatchConfig]):
    """Holds data until `send_batch_size` items are waiting or `timeout` has passed
    since the first of them arrived; flushes what it holds on shutdown."""

    def __init__(self, config: BatchConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._pending: list[Data] = []
        self._count = 0
        self._arrived = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False
        self._sent = ctx.telemetry.counter("batch_sends", "Batches sent by a batch processor, by trigger")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._timer(), name=f"processor:{self.ctx.id}")

    async def _timer(self) -> None:
        while True:
            await self._arrived.wait()
            await asyncio.sleep(self.config.timeout)
            await self.flush("timeout")

    async def consume(self, data: Data) -> None:
        if not len(data):
            return
        self._pending.append(data)
        self._count += len(data)
        self._arrived.set()
        if self._count >= self.config.send_batch_size:
            await self.flush("size")

    async def flush(self, trigger: str = "shutdown") -> None:
        items, self._pending, self._count = self._pending, [], 0
        self._arrived.clear()
        if not items:
            return
        async with self._send_lock:  # keep batches in order when timer and size race
            for merged in merge(items):
                for piece in split(merged, self.config.send_batch_max_size):
                    self._sent.add(1, processor=str(self.ctx.id), trigger=trigger)
                    await self.next.consume(piece)

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
