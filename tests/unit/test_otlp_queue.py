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


def test_backoff_grows_with_jitter_and_honours_the_server() -> None:
    from exporters.otlp.config import RetrySettings
    from exporters.otlp.retry import Backoff

    b = Backoff(RetrySettings(initial_interval=1.0, multiplier=2.0, randomization_factor=0.5, max_interval=4.0))
    delays = [b.next_delay() for _ in range(5)]
    for delay, interval in zip(delays, [1, 2, 4, 4, 4], strict=True):
        assert interval * 0.5 <= delay <= min(interval * 1.5, 4.0)
    assert b.next_delay(server_asked=30.0) == 30.0  # Retry-After / RetryInfo beyond max_interval still wins


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    import email.utils
    import time

    from collector.net import retry_after_seconds

    assert retry_after_seconds("7") == 7.0
    later = retry_after_seconds(email.utils.formatdate(time.time() + 60, usegmt=True))
    assert later is not None and 50 < later <= 60
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_endpoint_mistakes_are_config_errors_with_the_line(tmp_path: Path) -> None:
    from collector.config import ConfigError, load_config_text

    yaml = """receivers: {ebpf_maps: {programs: [syscalls]}}
exporters:
  otlp:
    protocol: grpc
    endpoint: http://tempo:4317/v1/traces
service: {pipelines: {metrics: {receivers: [ebpf_maps], exporters: [otlp]}}}
"""
    with pytest.raises(ConfigError) as err:
        load_config_text(yaml, "c.yaml")
    assert "c.yaml:3" in str(err.value.problems) and "gRPC takes host:port, without a path" in str(err.value.problems)
    with pytest.raises(ValueError, match="expected host:port or an http"):
        OtlpConfig.model_validate({"endpoint": "ftp://x:1"})
