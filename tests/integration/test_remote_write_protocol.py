"""prometheus_remote_write's protocol and fault handling, against an in-test
receiver (aiohttp) that decodes what was sent: snappy block format, then
prometheus.WriteRequest."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cramjam
import pytest
from aiohttp import web

from collector.component import ComponentContext, ComponentId
from collector.model import Metric, MetricBatch, MetricKind, NumberPoint
from collector.telemetry import Telemetry
from exporters.prometheus_remote_write.config import RemoteWriteConfig
from exporters.prometheus_remote_write.exporter import RemoteWriteExporter
from exporters.prometheus_remote_write.proto import WriteRequest
from tests.conftest import free_port, require_tool

Answer = Callable[[int], web.Response | None]  # request number -> response (None: 204)


@dataclass
class Receiver:
    port: int
    answer: Answer = lambda n: None
    gate: asyncio.Event | None = None  # when set, requests wait for it (a slow backend)
    requests: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/push"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        message = WriteRequest.FromString(bytes(cramjam.snappy.decompress_raw(body)))
        number = len(self.requests)
        self.requests.append((dict(request.headers), message))
        if self.gate is not None:
            await self.gate.wait()
        return self.answer(number) or web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/v1/push", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def values(self) -> list[float]:
        return [s.value for _, m in self.requests for ts in m.timeseries for s in ts.samples]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    await r.start()
    yield r
    await r.stop()


def make_exporter(url: str, **config: Any) -> RemoteWriteExporter:
    cfg = RemoteWriteConfig.model_validate(
        {"endpoint": url, "retry": {"initial_interval": "10ms", "max_interval": "50ms"}, **config}
    )
    return RemoteWriteExporter(cfg, ComponentContext(ComponentId("prometheus_remote_write"), "exporter", Telemetry()))


def gauge_batch(values: range | list[int], name: str = "queue.depth") -> MetricBatch:
    points = [NumberPoint({"i": str(v)}, v, 0, 1_700_000_000_000_000_000 + v) for v in values]
    return MetricBatch([Metric(name, MetricKind.GAUGE, list(points), "Depth of a queue")])


def counter(exporter: RemoteWriteExporter, name: str, **labels: str) -> float:
    return exporter.ctx.telemetry.counter(name, "").value(exporter="prometheus_remote_write", **labels)


async def test_headers_and_wire_format(receiver: Receiver) -> None:
    exporter = make_exporter(
        receiver.url, tenant="team-a", headers={"X-Custom": "yes"}, basic_auth={"username": "u", "password": "p"}
    )
    await exporter.start()
    await exporter.export(gauge_batch([3]))
    assert await exporter.flush(10)
    await exporter.shutdown()

    [(headers, message)] = receiver.requests
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["Content-Encoding"] == "snappy"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["X-Scope-OrgID"] == "team-a"
    assert headers["X-Custom"] == "yes"
    assert headers["Authorization"] == "Basic dTpw"
    [series] = message.timeseries
    assert [(label.name, label.value) for label in series.labels] == [("__name__", "queue_depth"), ("i", "3")]
    assert [(s.value, s.timestamp) for s in series.samples] == [(3.0, 1_700_000_000_000)]
    [meta] = message.metadata
    assert (meta.metric_family_name, meta.type, meta.help) == ("queue_depth", 2, "Depth of a queue")  # 2: GAUGE


async def test_requests_hold_at_most_max_samples(receiver: Receiver) -> None:
    exporter = make_exporter(receiver.url, max_samples_per_send=10)
    await exporter.start()
    await exporter.export(gauge_batch(range(35)))
    assert await exporter.flush(10)
    await exporter.shutdown()
    assert [len(m.timeseries) for _, m in receiver.requests] == [10, 10, 10, 5]
    assert receiver.values() == list(range(35))  # in order


async def test_5xx_and_429_are_retried_until_accepted(receiver: Receiver) -> None:
    def answer(n: int) -> web.Response | None:
        if n == 0:
            return web.Response(status=503, text="ingester unavailable", headers={"Retry-After": "0"})
        if n == 1:
            return web.Response(status=429, text="rate limited")
        return None

    receiver.answer = answer
    exporter = make_exporter(receiver.url)
    await exporter.start()
    await exporter.export(gauge_batch([1, 2]))
    assert await exporter.flush(10)
    await exporter.shutdown()
    assert len(receiver.requests) == 3
    assert receiver.values() == [1, 2] * 3  # the same request, three times
    assert counter(exporter, "remote_write_retries") == 2
    assert counter(exporter, "remote_write_sent_samples") == 2
    assert counter(exporter, "remote_write_failed_samples", reason="retries_exhausted") == 0


async def test_4xx_is_not_retried_and_is_counted(receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.answer = lambda n: web.Response(status=400, text="out of order sample") if n == 0 else None
    exporter = make_exporter(receiver.url)
    await exporter.start()
    await exporter.export(gauge_batch([1, 2]))
    assert await exporter.flush(10)
    await exporter.export(gauge_batch([3]))
    assert await exporter.flush(10)
    await exporter.shutdown()
    assert [len(m.timeseries) for _, m in receiver.requests] == [2, 1]  # the rejected request was not retried
    assert counter(exporter, "remote_write_retries") == 0
    assert counter(exporter, "remote_write_failed_samples", reason="rejected") == 2
    assert counter(exporter, "remote_write_sent_samples") == 1
    assert "HTTP 400" in caplog.text and "out of order sample" in caplog.text


async def test_retries_give_up_after_max_elapsed_time(receiver: Receiver) -> None:
    receiver.answer = lambda n: web.Response(status=500, text="boom")
    exporter = make_exporter(
        receiver.url, retry={"initial_interval": "10ms", "max_interval": "20ms", "max_elapsed_time": "200ms"}
    )
    await exporter.start()
    await exporter.export(gauge_batch([1, 2, 3]))
    assert await exporter.flush(10)
    await exporter.shutdown()
    assert len(receiver.requests) >= 2
    assert counter(exporter, "remote_write_failed_samples", reason="retries_exhausted") == 3
    assert counter(exporter, "remote_write_sent_samples") == 0


async def test_slow_backend_queue_stays_bounded_and_drops_are_counted(receiver: Receiver) -> None:
    receiver.gate = asyncio.Event()  # the backend holds every request until released
    exporter = make_exporter(receiver.url, queue_size=50, max_samples_per_send=20)
    await exporter.start()
    for start in range(0, 500, 10):  # export never waits on the stuck backend
        await exporter.export(gauge_batch(range(start, start + 10)))
    assert len(exporter._queue) <= 50
    receiver.gate.set()
    assert await exporter.flush(10)
    await exporter.shutdown()
    received = receiver.values()
    dropped = counter(exporter, "remote_write_dropped_samples")
    assert dropped > 0
    assert len(received) + dropped == 500  # every sample either arrived or was counted as dropped
    assert received[-50:] == list(range(450, 500))  # the newest were kept
    assert counter(exporter, "remote_write_sent_samples") == len(received)


async def test_shutdown_flushes_what_is_queued(receiver: Receiver) -> None:
    exporter = make_exporter(receiver.url, max_samples_per_send=5)
    await exporter.start()
    await exporter.export(gauge_batch(range(23)))
    await exporter.shutdown()  # no explicit flush
    assert receiver.values() == list(range(23))
    await exporter.shutdown()  # idempotent


async def test_shutdown_with_backend_down_counts_what_is_lost() -> None:
    exporter = make_exporter(f"http://127.0.0.1:{free_port()}/api/v1/push", flush_timeout="300ms")
    await exporter.start()
    await exporter.export(gauge_batch(range(7)))
    await exporter.shutdown()
    failed = counter(exporter, "remote_write_failed_samples", reason="retries_exhausted") + counter(
        exporter, "remote_write_failed_samples", reason="shutdown"
    )
    assert failed == 7


def test_mimir_example_config_is_valid() -> None:
    from collector.config import load_config_file
    from tests.conftest import ROOT

    config = load_config_file(ROOT / "configs" / "examples" / "mimir-remote-write.yaml")
    spec = config.get("exporter", ComponentId("prometheus_remote_write"))
    assert spec.config.tenant == "anonymous" and spec.config.external_labels == {"cluster": "dev"}


async def test_https_with_a_private_ca(tmp_path: Path) -> None:
    """TLS to a server whose certificate our CA file vouches for; without it, the
    system CAs refuse the connection and the failure is retried, not sent in clear."""
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert, key)
    receiver = Receiver(free_port())
    app = web.Application()
    app.router.add_post("/api/v1/push", receiver.handle)
    receiver.runner = web.AppRunner(app)
    await receiver.runner.setup()
    await web.TCPSite(receiver.runner, "127.0.0.1", receiver.port, ssl_context=server_ssl).start()
    url = receiver.url.replace("http:", "https:")
    try:
        trusted = make_exporter(url, tls={"ca_file": str(cert)})
        await trusted.start()
        await trusted.export(gauge_batch([5]))
        assert await trusted.flush(10)
        await trusted.shutdown()
        assert receiver.values() == [5]

        untrusted = make_exporter(url, flush_timeout="200ms")
        await untrusted.start()
        await untrusted.export(gauge_batch([6]))
        assert not await untrusted.flush(0.3)
        await untrusted.shutdown()
        assert receiver.values() == [5]
        assert counter(untrusted, "remote_write_retries") > 0
    finally:
        await receiver.stop()
