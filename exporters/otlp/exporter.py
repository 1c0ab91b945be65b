"""The `otlp` exporter: encode on the pipeline's side, queue, send with retries.

    export_signal() ── encode (official protobuf) ──► sending queue ──► N senders ──► gRPC / HTTP
                                                     (memory or disk)   (retry, backoff)

export_signal() never waits for the network while the queue is on: a slow or
absent backend fills the bounded queue, and what does not fit is dropped and
counted instead of holding the pipeline back."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from google.protobuf.message import Message

from collector.component import ComponentContext, ComponentError, Exporter
from collector.model import Data, EventBatch, MetricBatch, Signal
from collector.otlp import MetricEncoder, encode_logs, encode_spans
from exporters.otlp.config import OtlpConfig
from exporters.otlp.queue import DiskQueue, Request, SendQueue
from exporters.otlp.retry import Backoff
from exporters.otlp.split import split
from exporters.otlp.transport import GrpcTransport, HttpTransport, Outcome, Transport


class OtlpExporter(Exporter[OtlpConfig]):
    def __init__(self, config: OtlpConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.shutdown_timeout = config.shutdown_timeout + 2.0  # the runtime waits for our flush
        self.name = str(ctx.id)
        self.metric_encoder = MetricEncoder(config.resource)
        self.transport: Transport | None = None
        self.queue: SendQueue | None = None
        self._senders: list[asyncio.Task[None]] = []
        self._stopped = False
        self._logged: set[str] = set()  # permanent problems are logged once
        self._outage: str | None = None  # the retryable failure being ridden out, if any
        self._queue_full = False
        t = ctx.telemetry
        self._sent = t.counter("exporter_sent_items", "Datapoints, log records or spans a backend accepted")
        self._failed = t.counter("exporter_send_failed_items", "Items not delivered, by reason")
        self._retries = t.counter("exporter_send_retries", "Requests retried after a retryable failure")
        self._dropped = t.counter("queue_dropped_items", "Datapoints or events dropped because a queue was full")
        self.queue_name = f"exporter/{self.name}/sending"

    # --- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        transport: Transport = GrpcTransport(cfg) if cfg.protocol == "grpc" else HttpTransport(cfg)
        await transport.start()
        self.transport = transport
        q = cfg.sending_queue
        if q.enabled:
            self.queue = self._open_queue()
            self._senders = [
                asyncio.create_task(self._send_loop(self.queue), name=f"{self.name}:sender{i}")
                for i in range(q.num_consumers)
            ]
            self._watch_queue(self.queue)
        self.log.info("sending %s to %s", "OTLP/gRPC" if cfg.protocol == "grpc" else "OTLP/HTTP", cfg.endpoint)

    def _open_queue(self) -> SendQueue:
        q = self.config.sending_queue
        if q.directory is None:
            return SendQueue(q.max_items, q.max_bytes)
        disk = DiskQueue(Path(q.directory), q.max_items, q.max_bytes)
        try:
            left = disk.open()
        except BlockingIOError as exc:
            raise ComponentError(f"sending_queue.directory {q.directory} is in use by another collector") from exc
        except OSError as exc:
            raise ComponentError(f"sending_queue.directory {q.directory}: {exc.strerror}") from exc
        if left:
            self.log.info("persistent queue: %d requests (%d items) left by the last run, sending", left, disk.items)
        return disk

    def _watch_queue(self, queue: SendQueue) -> None:
        t = self.ctx.telemetry
        items = t.gauge("exporter_queue_items", "Items held in an exporter's sending queue (waiting or in flight)")
        size = t.gauge("exporter_queue_bytes", "Encoded bytes held in an exporter's sending queue")
        capacity = t.gauge("exporter_queue_capacity_bytes", "Bytes an exporter's sending queue may hold")
        storage = "disk" if isinstance(queue, DiskQueue) else "memory"
        capacity.set(queue.max_bytes, exporter=self.name, storage=storage)

        def refresh() -> None:
            items.set(queue.items, exporter=self.name, storage=storage)
            size.set(queue.bytes, exporter=self.name, storage=storage)

        t.on_collect(refresh)

    async def shutdown(self) -> None:
        """Flush the queue within shutdown_timeout, then stop. A disk queue keeps
        what was not sent for the next start; from a memory queue it is counted lost."""
        if self._stopped:
            return
        self._stopped = True
        queue = self.queue
        if queue is not None and self._senders:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.wait_empty(), self.config.shutdown_timeout)
            for task in self._senders:
                task.cancel()
            await asyncio.gather(*self._senders, return_exceptions=True)
            self._senders = []
            if queue.items and isinstance(queue, DiskQueue):
                self.log.warning("%d items not sent yet, kept in %s for the next start", queue.items, queue.directory)
            elif queue.items:
                self._failed.add(queue.items, exporter=self.name, reason="shutdown")
                self.log.warning("%d items not sent before the shutdown deadline, dropped", queue.items)
            queue.close()
        if self.transport is not None:
            await self.transport.close()
            self.transport = None

    # --- pipeline side ---------------------------------------------------------------

    async def export(self, data: Data) -> None:
        await self.export_signal("metrics" if isinstance(data, MetricBatch) else "logs", data)

    async def export_signal(self, signal: Signal, data: Data) -> None:
        for part in split(data, self.config.max_request_items):
            request = Request(signal, self.encode(signal, part).SerializeToString(), len(part))
            if self.queue is None:
                await self.deliver(request)
            elif await self.queue.put(request):
                self._queue_full = False
                await asyncio.sleep(0)  # let a sender start on it while the next part is encoded
            else:
                self._dropped.add(request.items, queue=self.queue_name)
                if not self._queue_full:  # once per episode; the counter has the totals
                    self.log.warning(
                        "sending queue full (%d items, %d bytes): dropping new data until the backend catches up",
                        self.queue.items,
                        self.queue.bytes,
                    )
                    self._queue_full = True

    def encode(self, signal: Signal, data: Data) -> Message:
        cfg = self.config
        if isinstance(data, MetricBatch):
            return self.metric_encoder.encode([data])
        assert isinstance(data, EventBatch)
        if signal == "traces":
            if cfg.traces is None:
                raise ValueError("a traces pipeline needs `traces:` (start_field, end_field or duration_field)")
            return encode_spans([data], cfg.traces, cfg.resource)
        return encode_logs([data], cfg.logs, cfg.resource)

    # --- network side ----------------------------------------------------------------

    async def _send_loop(self, queue: SendQueue) -> None:
        while True:
            entry, payload = await queue.take()
            try:
                await self.deliver(Request(entry.signal, payload, entry.items))
            except Exception as exc:  # a bug or an unexpected library error must not stop a sender
                self._failed.add(entry.items, exporter=self.name, signal=entry.signal, reason="error")
                self._log_once(f"{entry.signal} not sent: {type(exc).__name__}: {exc}")
            # Only now is the request forgotten: cancelled mid-send, a disk entry stays for the next start.
            queue.done(entry)

    async def deliver(self, request: Request) -> None:
        """Send until accepted, refused for good, or out of retry time."""
        assert self.transport is not None
        retry = self.config.retry_on_failure
        backoff = Backoff(retry)
        started = time.monotonic()
        labels = {"exporter": self.name, "signal": request.signal}
        while True:
            outcome = await self.transport.send(request.signal, request.payload)
            if outcome.ok:
                self._accepted(request, outcome, labels)
                return
            if not outcome.retryable or not retry.enabled:
                self._failed.add(request.items, reason="permanent", **labels)
                self._log_once(f"{request.signal} refused by {self.config.endpoint}, not retried: {outcome.message}")
                return
            delay = backoff.next_delay(outcome.retry_after)
            if retry.max_elapsed_time and time.monotonic() - started + delay > retry.max_elapsed_time:
                self._failed.add(request.items, reason="retries_exhausted", **labels)
                self.log.error(
                    "giving up on %d %s after %.0fs: %s",
                    request.items,
                    request.signal,
                    time.monotonic() - started,
                    outcome.message,
                )
                return
            if self._outage != outcome.message:
                self._outage = outcome.message
                self.log.warning("%s: will retry (queued data waits): %s", self.config.endpoint, outcome.message)
            self._retries.add(1, **labels)
            await asyncio.sleep(delay)

    def _accepted(self, request: Request, outcome: Outcome, labels: dict[str, str]) -> None:
        if self._outage is not None:
            self.log.info("%s reachable again", self.config.endpoint)
            self._outage = None
        rejected = min(outcome.rejected, request.items)
        self._sent.add(request.items - rejected, **labels)
        if rejected or outcome.message:
            self._failed.add(rejected, reason="rejected", **labels)
            self._log_once(f"{request.signal} partially accepted ({rejected} rejected): {outcome.message}")

    def _log_once(self, message: str) -> None:
        if message not in self._logged:
            if len(self._logged) > 1000:
                self._logged.clear()
            self._logged.add(message)
            self.log.error("%s", message)
