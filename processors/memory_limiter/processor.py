from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable

from collector.component import ComponentContext, Processor, Refused
from collector.model import Data
from processors.memory_limiter.config import MemoryLimiterConfig
from processors.memory_limiter.memory import available_bytes, rss_bytes

MIB = 1 << 20


class MemoryLimiterProcessor(Processor[MemoryLimiterConfig]):
    """Place it first in a pipeline. Above the soft limit it raises `Refused`: the
    pipeline holds that batch and retries it after check_interval, its queue fills
    and its overflow policy takes over (`block` lets the kernel buffers absorb the
    burst and count their losses). Above the hard limit it also runs the garbage
    collector. Data flows again once memory is back under the soft limit."""

    def __init__(
        self, config: MemoryLimiterConfig, ctx: ComponentContext, measure: Callable[[], int] = rss_bytes
    ) -> None:
        super().__init__(config, ctx)
        self.measure = measure
        if config.limit_mib is not None:
            self.hard = config.limit_mib * MIB
            spike = config.spike_limit_mib * MIB if config.spike_limit_mib is not None else self.hard // 5
        else:
            assert config.limit_percentage is not None
            total = available_bytes()
            self.hard = int(total * config.limit_percentage / 100)
            spike_pct = config.spike_limit_percentage
            spike = int(total * spike_pct / 100) if spike_pct is not None else self.hard // 5
        self.soft = self.hard - spike
        self.refusing = False
        self._last_check = 0.0
        self._task: asyncio.Task[None] | None = None
        t = ctx.telemetry
        self._refused = t.counter("memory_limiter_refused_items", "Datapoints or events refused above the soft limit")
        self._usage = t.gauge("memory_limiter_usage_bytes", "Memory in use at the last check", "By")
        t.gauge("memory_limiter_soft_limit_bytes", "Soft limit", "By").set(self.soft, processor=str(ctx.id))
        t.gauge("memory_limiter_hard_limit_bytes", "Hard limit", "By").set(self.hard, processor=str(ctx.id))

    async def start(self) -> None:
        self.check()
        self._task = asyncio.create_task(self._loop(), name=f"processor:{self.ctx.id}")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.check_interval)
            self.check()

    def check(self) -> None:
        used = self.measure()
        if used > self.hard:
            gc.collect()
            used = self.measure()
        was = self.refusing
        self.refusing = used > self.soft
        if self.refusing != was:
            self.log.warning(
                "memory %d MiB %s the soft limit %d MiB: %s data",
                used // MIB,
                "above" if self.refusing else "back under",
                self.soft // MIB,
                "refusing" if self.refusing else "accepting",
            )
        self._usage.set(used, processor=str(self.ctx.id))
        self._last_check = time.monotonic()

    async def consume(self, data: Data) -> None:
        if time.monotonic() - self._last_check >= self.config.check_interval:
            self.check()
        if self.refusing:
            self._refused.add(len(data), processor=str(self.ctx.id))
            raise Refused(f"memory above the soft limit of {self.soft // MIB} MiB", self.config.check_interval)
        await self.next.consume(data)

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
