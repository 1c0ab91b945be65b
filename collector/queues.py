"""Bounded queues between stages, with an explicit overflow policy.

Nothing is dropped silently: every drop is counted in self-telemetry under the
queue's name."""

from __future__ import annotations

import asyncio
from collections.abc import Sized
from typing import Generic, TypeVar

from collector.config.schema import OverflowPolicy
from collector.telemetry import Telemetry

T = TypeVar("T", bound=Sized)


def item_count(data: Sized) -> int:
    """Datapoints in a metric batch, records in an event batch."""
    return len(data)


class BoundedQueue(Generic[T]):
    def __init__(self, name: str, size: int, overflow: OverflowPolicy, telemetry: Telemetry) -> None:
        self.name = name
        self.overflow = overflow
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=size)
        self._dropped = telemetry.counter(
            "queue_dropped_items", "Datapoints or events dropped because a queue was full"
        )
        size_gauge = telemetry.gauge("queue_size", "Batches waiting in a queue")
        capacity = telemetry.gauge("queue_capacity", "Batches a queue can hold")
        capacity.set(size, queue=name)
        telemetry.on_collect(lambda: size_gauge.set(self._queue.qsize(), queue=name))

    async def put(self, data: T) -> None:
        if self.overflow == "block":
            await self._queue.put(data)
            return
        if self._queue.full():
            if self.overflow == "drop_newest":
                self._dropped.add(item_count(data), queue=self.name)
                return
            old = self._queue.get_nowait()
            self._queue.task_done()
            self._dropped.add(item_count(old), queue=self.name)
        self._queue.put_nowait(data)

    async def get(self) -> T:
        return await self._queue.get()

    def task_done(self) -> None:
        self._queue.task_done()

    async def join(self) -> None:
        await self._queue.join()

    def qsize(self) -> int:
        return self._queue.qsize()
