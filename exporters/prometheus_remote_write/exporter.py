from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import ssl
import time
from collections import deque

import aiohttp
import cramjam

from collector.component import ComponentContext, Exporter
from collector.model import Data, MetricBatch
from collector.net import retry_after_seconds
from exporters.prometheus_remote_write.config import RemoteWriteConfig
from exporters.prometheus_remote_write.convert import Converter, FamilyMeta, PromSample
from exporters.prometheus_remote_write.proto import METRIC_TYPES, WriteRequest

USER_AGENT = "ebpf-collector/0.1"
PROTOCOL_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": USER_AGENT,
}
MAX_RETRY_AFTER = 300.0  # seconds; a longer Retry-After is treated as this


class SendError(Exception):
    def __init__(self, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def encode(samples: list[PromSample], families: dict[str, FamilyMeta] | None) -> bytes:
    """One WriteRequest, protobuf-encoded and snappy-compressed (block format, as remote write 1.0 says)."""
    request = WriteRequest()
    add_series = request.timeseries.add
    for s in samples:
        series = add_series()
        add_label = series.labels.add
        for name, value in s.labels:
            add_label(name=name, value=value)
        series.samples.add(value=s.value, timestamp=s.timestamp_ms)
    if families:
        for name in sorted({s.family for s in samples}):
            meta = families.get(name)
            if meta is not None:
                request.metadata.add(
                    type=METRIC_TYPES.get(meta.type, 0), metric_family_name=name, help=meta.help, unit=meta.unit
                )
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


class RemoteWriteExporter(Exporter[RemoteWriteConfig]):
    """Prometheus remote write 1.0. `export` converts and queues (it never waits on the
    network); one sender task drains the queue in requests of at most
    `max_samples_per_send`, in order, retrying what the backend may accept later."""

    def __init__(self, config: RemoteWriteConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.converter = Converter(config.external_labels, config.resource_to_telemetry_conversion, config.target_info)
        self._queue: deque[PromSample] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._session: aiohttp.ClientSession | None = None
        self._sender: asyncio.Task[None] | None = None
        self._closing = False
        self._deadline = 0.0  # when closing: stop retrying after this (monotonic)
        self._inflight = 0  # samples taken off the queue and being sent
        self._last_error = ""
        tel, exporter = ctx.telemetry, str(ctx.id)
        self._labels = {"exporter": exporter}
        self._sent = tel.counter("remote_write_sent_samples", "Samples a remote write backend accepted")
        self._failed = tel.counter(
            "remote_write_failed_samples", "Samples given up: rejected by the backend, retries exhausted, or shutdown"
        )
        self._dropped = tel.counter("remote_write_dropped_samples", "Samples dropped because the send queue was full")
        self._retries = tel.counter("remote_write_retries", "Remote write requests retried")
        queued = tel.gauge("remote_write_queue_samples", "Samples waiting to be sent")
        tel.on_collect(lambda: queued.set(len(self._queue), exporter=exporter))
        self._headers = self._build_headers()

    def _build_headers(self) -> dict[str, str]:
        headers = dict(self.config.headers)
        if self.config.tenant:
            headers["X-Scope-OrgID"] = self.config.tenant
        if self.config.basic_auth is not None:
            credentials = f"{self.config.basic_auth.username}:{self.config.basic_auth.password}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        headers.update(PROTOCOL_HEADERS)
        return headers

    def _ssl(self) -> ssl.SSLContext | bool:
        return self.config.tls.ssl_context() if self.config.endpoint.startswith("https:") else True

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self._ssl(), limit=4)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        self._sender = asyncio.create_task(self._run(), name=f"remote_write:{self.ctx.id}")

    async def export(self, data: Data) -> None:
        if not isinstance(data, MetricBatch) or self._closing:
            return
        samples = self.converter.convert(data)
        if not samples:
            return
        self._queue.extend(samples)
        overflow = len(self._queue) - self.config.queue_size
        if overflow > 0:  # keep the newest: cumulative values make them the most useful
            for _ in range(overflow):
                self._queue.popleft()
            self._dropped.add(overflow, **self._labels)
            self._log_once(f"send queue full ({self.config.queue_size} samples): dropped the oldest samples")
        self._idle.clear()
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                count = min(len(self._queue), self.config.max_samples_per_send)
                batch = [self._queue.popleft() for _ in range(count)]
                self._inflight = count
                try:
                    await self._send_with_retry(batch)
                except asyncio.CancelledError:
                    self._failed.add(count, reason="shutdown", **self._labels)
                    raise
                except Exception:  # a bug must not stop the sender: count, log, go on with the next batch
                    self._failed.add(count, reason="error", **self._labels)
                    self.log.exception("remote write: unexpected error sending %d samples", count)
                finally:
                    self._inflight = 0
            self._idle.set()

    async def _send_with_retry(self, batch: list[PromSample]) -> None:
        body = encode(batch, self.converter.families if self.config.send_metadata else None)
        retry = self.config.retry
        started = time.monotonic()
        backoff = retry.initial_interval
        while True:
            try:
                await self._post(body)
            except SendError as exc:
                elapsed = time.monotonic() - started
                give_up = not exc.retryable or not retry.enabled
                if not give_up and retry.max_elapsed_time > 0 and elapsed >= retry.max_elapsed_time:
                    give_up = True
                if give_up or self._closing_deadline_passed():
                    reason = "rejected" if not exc.retryable else "retries_exhausted"
                    self._failed.add(len(batch), reason=reason, **self._labels)
                    self._log_once(f"{len(batch)} samples not sent ({reason.replace('_', ' ')}): {exc}")
                    return
                delay = min(backoff, retry.max_interval) * random.uniform(0.8, 1.2)
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                if retry.max_elapsed_time > 0:
                    delay = min(delay, max(retry.max_elapsed_time - elapsed, 0.0))
                self._retries.add(1, **self._labels)
                self._log_once(f"remote write failed, retrying: {exc}")
                await asyncio.sleep(delay)
                backoff *= 2
                continue
            self._sent.add(len(batch), **self._labels)
            self._last_error = ""
            return

    async def _post(self, body: bytes) -> None:
        assert self._session is not None
        try:
            async with self._session.post(self.config.endpoint, data=body, headers=self._headers) as resp:
                if resp.status < 300:
                    return
                text = (await resp.text(errors="replace")).strip()[:500]
                retryable = resp.status >= 500 or resp.status == 429
                retry_after = (
                    retry_after_seconds(resp.headers.get("Retry-After"), MAX_RETRY_AFTER) if retryable else None
                )
                raise SendError(f"HTTP {resp.status} from {self.config.endpoint}: {text}", retryable, retry_after)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise SendError(f"{self.config.endpoint}: {type(exc).__name__}: {exc}", retryable=True) from exc

    def _closing_deadline_passed(self) -> bool:
        return self._closing and time.monotonic() >= self._deadline

    def _log_once(self, message: str) -> None:
        if message != self._last_error:  # a backend that keeps failing the same way is logged once
            self.log.warning("%s", message)
            self._last_error = message

    async def flush(self, timeout: float) -> bool:
        """Wait until everything queued has been sent (or given up); False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def shutdown(self) -> None:
        if self._session is None:
            return
        self._closing = True
        self._deadline = time.monotonic() + self.config.flush_timeout
        if not await self.flush(self.config.flush_timeout):
            left = len(self._queue) + self._inflight
            self.log.warning("%d samples not sent before the flush deadline", left)
            if self._queue:
                self._failed.add(len(self._queue), reason="shutdown", **self._labels)
                self._queue.clear()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
        await self._session.close()
        self._session = None
