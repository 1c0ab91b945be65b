"""Sending one encoded request over gRPC (grpc.aio) or HTTP/protobuf (aiohttp), and
classifying the answer the way the OTLP specification says: success (maybe
partial), retryable (with the server's requested delay), or permanent."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import grpc
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from collector.component import ComponentError
from collector.model import Signal
from collector.net import retry_after_seconds
from exporters.otlp.config import OtlpConfig


@dataclass(frozen=True, slots=True)
class _Service:
    response: type[Message]
    grpc_method: str  # /package.Service/Export
    http_path: str


def _service(module: Any, name: str, response: type[Message], path: str) -> _Service:
    full_name = module.DESCRIPTOR.services_by_name[name].full_name
    return _Service(response, f"/{full_name}/Export", path)


SERVICES: dict[Signal, _Service] = {
    "metrics": _service(
        metrics_service_pb2, "MetricsService", metrics_service_pb2.ExportMetricsServiceResponse, "/v1/metrics"
    ),
    "logs": _service(logs_service_pb2, "LogsService", logs_service_pb2.ExportLogsServiceResponse, "/v1/logs"),
    "traces": _service(trace_service_pb2, "TraceService", trace_service_pb2.ExportTraceServiceResponse, "/v1/traces"),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    retryable: bool = False
    retry_after: float | None = None  # seconds the server asked us to wait
    message: str = ""  # the server's words, for the log
    rejected: int = 0  # partial success: items the server refused


def partial_success(response: Message) -> Outcome:
    """The partial_success field of an Export*ServiceResponse: rejected count and message."""
    partial = getattr(response, "partial_success", None)
    if partial is None or not response.HasField("partial_success"):
        return Outcome(True)
    rejected = next((v for f, v in partial.ListFields() if f.name.startswith("rejected_")), 0)
    return Outcome(True, rejected=int(rejected), message=partial.error_message)


class Transport:
    async def start(self) -> None: ...

    async def send(self, signal: Signal, payload: bytes) -> Outcome:
        raise NotImplementedError

    async def close(self) -> None: ...


# --- HTTP/protobuf ---------------------------------------------------------------

RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
GZIP_LEVEL = 1  # CPU on the node matters more than bytes on the wire; protobuf still shrinks ~5x
OFF_LOOP_BYTES = 64 << 10  # compress larger payloads in a thread (zlib releases the GIL)


def _http_message(body: bytes, content_type: str) -> str:
    if "protobuf" in content_type:
        try:
            status = status_pb2.Status.FromString(body)
            return status.message or f"code {status.code}"
        except DecodeError:
            pass
    return body.decode("utf-8", "replace").strip()[:500]


class HttpTransport(Transport):
    def __init__(self, config: OtlpConfig) -> None:
        self.config = config
        base = config.endpoint.rstrip("/")
        if "://" not in base:
            base = ("http://" if config.tls.insecure else "https://") + base
        own = {"metrics": config.metrics_endpoint, "logs": config.logs_endpoint, "traces": config.traces_endpoint}
        self.urls = {s: own[s] or base + SERVICES[s].http_path for s in SERVICES}
        for url in self.urls.values():
            if urlsplit(url).scheme not in ("http", "https"):
                raise ComponentError(f"endpoint {url!r}: expected an http:// or https:// URL")
        self.headers = {"Content-Type": "application/x-protobuf", **config.headers}
        if config.compression == "gzip":
            self.headers["Content-Encoding"] = "gzip"
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            ssl=self.config.tls.ssl_context(), limit=self.config.sending_queue.num_consumers + 1
        )
        timeout = aiohttp.ClientTimeout(total=self.config.timeout)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True)

    async def send(self, signal: Signal, payload: bytes) -> Outcome:
        assert self.session is not None
        body = payload
        if self.config.compression == "gzip":
            if len(payload) > OFF_LOOP_BYTES:
                body = await asyncio.to_thread(gzip.compress, payload, GZIP_LEVEL)
            else:
                body = gzip.compress(payload, GZIP_LEVEL)
        try:
            async with self.session.post(self.urls[signal], data=body, headers=self.headers) as resp:
                content = await resp.read()
                status, content_type = resp.status, resp.headers.get("Content-Type", "")
                retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Outcome(False, retryable=True, message=f"{type(exc).__name__}: {exc}".rstrip(": "))
        if 200 <= status < 300:
            try:
                return partial_success(SERVICES[signal].response.FromString(content))
            except DecodeError:
                return Outcome(True)  # an empty or non-protobuf 2xx body is still a success
        message = f"HTTP {status}: {_http_message(content, content_type)}".rstrip(": ")
        return Outcome(False, retryable=status in RETRYABLE_HTTP, retry_after=retry_after, message=message)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


# --- gRPC --------------------------------------------------------------------------

# The OTLP specification's retryable codes; RESOURCE_EXHAUSTED only when the server
# says when to come back (RetryInfo), otherwise it is the client's problem (too large).
RETRYABLE_GRPC = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


def grpc_retry_info(metadata: Any) -> float | None:
    """The RetryInfo delay in a google.rpc.Status sent as grpc-status-details-bin."""
    for key, value in metadata or ():
        if key != "grpc-status-details-bin":
            continue
        try:
            status = status_pb2.Status.FromString(value)
        except DecodeError:
            return None
        for detail in status.details:
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                return float(info.retry_delay.ToTimedelta().total_seconds())
    return None


class GrpcTransport(Transport):
    def __init__(self, config: OtlpConfig) -> None:
        self.config = config
        endpoint = config.endpoint
        scheme, _, rest = endpoint.rpartition("://")
        if scheme not in ("", "http", "https"):
            raise ComponentError(f"endpoint {endpoint!r}: expected host:port or http(s)://host:port for gRPC")
        self.target = rest.rstrip("/")
        self.plaintext = scheme == "http" or (scheme == "" and config.tls.insecure)
        if config.tls.insecure_skip_verify:
            raise ComponentError("tls.insecure_skip_verify is not supported over gRPC: give tls.ca_file instead")
        self.metadata = tuple((k.lower(), v) for k, v in config.headers.items())
        self.compression = grpc.Compression.Gzip if config.compression == "gzip" else grpc.Compression.NoCompression
        self.channel: grpc.aio.Channel | None = None
        self.methods: dict[Signal, Callable[..., Any]] = {}

    def _credentials(self) -> grpc.ChannelCredentials:
        tls = self.config.tls

        def read(path: str | None) -> bytes | None:
            try:
                return Path(path).read_bytes() if path else None
            except OSError as exc:
                raise ComponentError(f"tls: cannot read {path}: {exc.strerror}") from exc

        return grpc.ssl_channel_credentials(read(tls.ca_file), read(tls.key_file), read(tls.cert_file))

    async def start(self) -> None:
        # gRPC's own reconnect backoff grows to 120 s: cap it by ours, so a backend that
        # comes back is used as soon as our retry asks again.
        reconnect_ms = max(1000, int(self.config.retry_on_failure.max_interval * 1000))
        options = [
            ("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", 16 << 20),
            ("grpc.max_reconnect_backoff_ms", reconnect_ms),
        ]
        if self.plaintext:
            self.channel = grpc.aio.insecure_channel(self.target, options=options)
        else:
            self.channel = grpc.aio.secure_channel(self.target, self._credentials(), options=options)
        for signal, service in SERVICES.items():
            # Payloads are already serialized requests (they may come from the disk queue).
            self.methods[signal] = self.channel.unary_unary(
                service.grpc_method, request_serializer=None, response_deserializer=service.response.FromString
            )

    async def send(self, signal: Signal, payload: bytes) -> Outcome:
        try:
            response = await self.methods[signal](
                payload, timeout=self.config.timeout, metadata=self.metadata, compression=self.compression
            )
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            delay = grpc_retry_info(exc.trailing_metadata())
            retryable = code in RETRYABLE_GRPC or (code == grpc.StatusCode.RESOURCE_EXHAUSTED and delay is not None)
            return Outcome(False, retryable=retryable, retry_after=delay, message=f"{code.name}: {exc.details()}")
        return partial_success(response)

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()
            self.channel = None
