"""memory_limiter: refuses above the soft limit; the pipeline retries; nothing is lost."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import numpy as np
import pytest
from pydantic import ValidationError

from collector.component import ComponentConfig, Exporter, Factory, Receiver, Refused
from collector.config import load_config_text
from collector.model import Data, EventBatch
from collector.registry import Registry
from collector.service import Service
from processors.memory_limiter.config import MemoryLimiterConfig
from processors.memory_limiter.memory import rss_bytes
from tests.unit.processors.helpers import events, make

MIB = 1 << 20


async def test_refuses_above_the_soft_limit_of_real_memory() -> None:
    limit = rss_bytes() // MIB + 200
    proc, sink, telemetry = make("memory_limiter", {"limit_mib": limit, "spike_limit_mib": 100})
    await proc.start()
    await proc.consume(events([1], b"x", 1))
    ballast = np.ones(180 * MIB, dtype=np.uint8)  # real memory, touched so it is resident
    try:
        proc.check()
        with pytest.raises(Refused) as refused:
            await proc.consume(events([1, 2], b"x", 1))
        assert refused.value.retry_after == 1.0
    finally:
        del ballast
    proc.check()
    await proc.consume(events([3], b"x", 1))
    assert [len(b) for b in sink.items] == [1, 1]
    assert telemetry.counter("memory_limiter_refused_items", "").value(processor="memory_limiter") == 2
    await proc.shutdown()


class Empty(ComponentConfig):
    pass


class _Burst(Receiver[Empty]):
    """Emits a few event batches into whatever pipelines it feeds."""

    async def start(self) -> None:
        for i in range(5):
            await self.emit("metrics", events(np.full(10, i), b"x", 1))


class Collect(Exporter[Empty]):
    got: ClassVar[list[Data]] = []

    async def export(self, data: Data) -> None:
        Collect.got.append(data)


async def test_a_pipeline_holds_refused_data_and_delivers_it_later() -> None:
    registry = Registry()
    registry.register(Factory("burst", "receiver", "test", Empty, _Burst, frozenset({"metrics"})))
    registry.register(Factory("collect", "exporter", "test", Empty, Collect))
    config = load_config_text(
        """
receivers: {burst: {}}
processors: {memory_limiter: {limit_mib: 100000, check_interval: 50ms}}
exporters: {collect: {}}
service:
  pipelines:
    metrics: {receivers: [burst], processors: [memory_limiter], exporters: [collect]}
""",
        "test.yaml",
        registry,
    )
    Collect.got = []
    service = Service(config)
    limiter = service.processors[0][0]
    limiter.soft = 0  # type: ignore[attr-defined]  # every check now says: above the limit
    await service.start()
    await asyncio.sleep(0.2)
    assert Collect.got == []
    refused = service.telemetry.counter("pipeline_refused_items", "").value(pipeline="metrics")
    assert refused >= 10  # the first batch, offered again every check_interval
    limiter.soft = 1 << 62  # type: ignore[attr-defined]  # memory is back
    await asyncio.sleep(0.2)
    await service.shutdown()
    got = [b for b in Collect.got if isinstance(b, EventBatch)]
    assert [int(b.column("pid")[0]) for b in got] == [0, 1, 2, 3, 4]  # all of it, in order


def test_limits_are_validated() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        MemoryLimiterConfig.model_validate({})
    with pytest.raises(ValidationError, match="below limit_mib"):
        MemoryLimiterConfig.model_validate({"limit_mib": 100, "spike_limit_mib": 100})
    with pytest.raises(ValidationError, match="spike_limit_percentage"):
        MemoryLimiterConfig.model_validate({"limit_percentage": 80, "spike_limit_mib": 100})


def test_percentages_of_available_memory() -> None:
    proc, _, _ = make("memory_limiter", {"limit_percentage": 50, "spike_limit_percentage": 10})
    assert proc.hard > proc.soft > 0  # type: ignore[attr-defined]
    assert proc.soft == pytest.approx(proc.hard * 0.8, rel=0.01)  # type: ignore[attr-defined]
