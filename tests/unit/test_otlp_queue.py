"""The otlp exporter's sending queues: bounds, and the disk queue's crash recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.component import ComponentContext, ComponentError, ComponentId
from collector.telemetry import Telemetry
from exporters.otlp.config import OtlpConfig
from exporters.otlp.exporter import OtlpExporter
from exporters.otlp.queue import DiskQueue, Request, SendQueue


async def test_memory_queue_refuses_beyond_its_bounds_and_frees_on_done() -> None:
    q = SendQueue(max_items=10, max_bytes=1 << 20)
    assert await q.put(Request("metrics", b"a" * 100, 6))
    assert not await q.put(Request("metrics", b"b" * 100, 6))  # 12 items > 10
    entry, payload = await q.take()
    assert payload == b"a" * 100 and q.items == 6  # in flight still counts
    q.done(entry)
    assert q.items == 0 and q.bytes == 0
    assert await q.put(Request("logs", b"c" * 100, 6))


async def test_a_lone_request_larger_than_the_bound_still_goes_through() -> None:
    q = SendQueue(max_items=10, max_bytes=1024)
    assert await q.put(Request("metrics", b"x" * 4096, 50))
    assert not await q.put(Request("metrics", b"y", 1))


async def test_disk_queue_survives_a_crash_with_requests_in_flight(tmp_path: Path) -> None:
    first = DiskQueue(tmp_path, 1000, 1 << 20)
    assert first.open() == 0
    for i in range(3):
        assert await first.put(Request("logs" if i == 1 else "metrics", f"payload-{i}".encode(), i + 1))
    entry, payload = await first.take()  # being sent when the process dies: never done()
    assert payload == b"payload-0"
    (tmp_path / "0000000000000099.metrics.5.otlp.tmp").write_bytes(b"half a write")
    first.close()  # the lock goes as it would with the process

    again = DiskQueue(tmp_path, 1000, 1 << 20)
    assert again.open() == 3
    assert (again.items, again.bytes) == (6, 27)
    got = []
    for _ in range(3):
        entry, payload = await again.take()
        got.append((entry.signal, entry.items, payload))
        again.done(entry)
    assert got == [("metrics", 1, b"payload-0"), ("logs", 2, b"payload-1"), ("metrics", 3, b"payload-2")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lock"]  # sent requests and the torn write are gone
    assert await again.put(Request("metrics", b"next", 1))
    assert next(tmp_path.glob("*.otlp")).name.startswith("0000000000000003.")  # numbering continues
    again.close()


async def test_disk_queue_bound_is_on_bytes_on_disk(tmp_path: Path) -> None:
    q = DiskQueue(tmp_path, 1_000_000, 3000)
    q.open()
    results = [await q.put(Request("metrics", b"x" * 1000, 1)) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert sum(p.stat().st_size for p in tmp_path.glob("*.otlp")) == 3000
    q.close()


async def test_a_queue_directory_in_use_is_a_clear_start_error(tmp_path: Path) -> None:
    holder = DiskQueue(tmp_path, 10, 1 << 20)
    holder.open()
    config = OtlpConfig.model_validate(
        {"protocol": "http", "endpoint": "http://127.0.0.1:1", "sending_queue": {"directory": str(tmp_path)}}
    )
    exporter = OtlpExporter(config, ComponentContext(ComponentId("otlp"), "exporter", Telemetry()))
    with pytest.raises(ComponentError, match="in use by another collector"):
        await exporter.start()
    await exporter.shutdown()
    holder.close()


def test_config_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="two of start_field, end_field and duration_field"):
        OtlpConfig.model_validate({"endpoint": "x:1", "traces": {"start_field": "ts"}})
    with pytest.raises(ValueError, match="cert_file and key_file go together"):
        OtlpConfig.model_validate({"endpoint": "x:1", "tls": {"cert_file": "/c.pem"}})
    with pytest.raises(ValueError, match="Extra inputs"):
        OtlpConfig.model_validate({"endpoint": "x:1", "retry": {}})
