"""An in-test OTLP backend: HTTP (aiohttp) and gRPC (grpc.aio) receivers built on the
official opentelemetry-proto types, decoding every request the exporter sends.

Failures are scripted: `fail` holds answers to give before succeeding, `hold`
makes requests wait (a slow or hanging backend)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

REQUESTS: dict[str, type[Message]] = {
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
    "traces": trace_service_pb2.ExportTraceServiceRequest,
}
RESPONSES: dict[str, type[Message]] = {
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
    "traces": trace_service_pb2.ExportTraceServiceResponse,
}


@dataclass
class Failure:
    """One scripted answer. HTTP uses status/headers/message; gRPC code/retry_delay/message."""

    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "try later"
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    retry_delay: float | None = None
    partial_rejected: int = 0  # > 0: answer success with partial_success instead


def status_bytes(code: int, message: str, retry_delay: float | None = None) -> bytes:
    status = status_pb2.Status(code=code, message=message)
    if retry_delay is not None:
        detail = any_pb2.Any()
        info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(retry_delay)))
        info.retry_delay.nanos = int((retry_delay % 1) * 1e9)
        detail.Pack(info)
        status.details.append(detail)
    return status.SerializeToString()


class OtlpBackend:
    def __init__(self) -> None:
        self.received: dict[str, list[Any]] = {"metrics": [], "logs": [], "traces": []}  # accepted
        self.seen: dict[str, list[Any]] = {"metrics": [], "logs": [], "traces": []}  # every attempt, answered or not
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []  # HTTP request paths accepted, e.g. /otlp/v1/logs (Loki)
        self.attempts = 0
        self.attempt_times: list[float] = []
        self.fail: deque[Failure] = deque()
        self.hold: asyncio.Event | None = None  # when set (not None and not set), requests wait
        self._runner: web.AppRunner | None = None
        self._grpc: grpc.aio.Server | None = None
        self.port = 0

    # -- what arrived --
    def datapoints(self) -> list[tuple[str, Any]]:
        """(metric name, point) for every datapoint received, in order."""
        out = []
        for req in self.received["metrics"]:
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        out.extend((m.name, p) for p in getattr(m, kind).data_points)
        return out

    def log_records(self) -> Iterator[tuple[Any, Any]]:
        for req in self.received["logs"]:
            for rl in req.resource_logs:
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        yield rl.resource, rec

    def spans(self) -> Iterator[tuple[Any, Any]]:
        for req in self.received["traces"]:
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        yield rs.resource, span

    async def _gate(self) -> Failure | None:
        self.attempts += 1
        self.attempt_times.append(asyncio.get_running_loop().time())
        if self.hold is not None:
            await self.hold.wait()
        return self.fail.popleft() if self.fail else None

    # -- HTTP --
    async def start_http(self, port: int = 0, ssl_context: ssl.SSLContext | None = None) -> str:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_post("/v1/{signal}", self._http)
        app.router.add_post("/{prefix:.+}/v1/{signal}", self._http)  # e.g. Loki's /otlp/v1/logs
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=ssl_context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{self.port}"

    async def _http(self, request: web.Request) -> web.Response:
        signal = request.match_info["signal"]
        # aiohttp's server inflates a gzip (Content-Encoding) body itself: what we read is the protobuf.
        message = REQUESTS[signal].FromString(await request.read())
        self.seen[signal].append(message)
        failure = await self._gate()
        if failure is not None and not failure.partial_rejected:
            return web.Response(
                status=failure.status,
                body=status_bytes(3, failure.message),
                headers={"Content-Type": "application/x-protobuf", **failure.headers},
            )
        self.received[signal].append(message)
        self.headers.append(dict(request.headers))
        self.paths.append(request.path)
        response = RESPONSES[signal]()
        if failure is not None:
            _partial(response, failure)
        return web.Response(body=response.SerializeToString(), content_type="application/x-protobuf")

    # -- gRPC --
    async def start_grpc(self, port: int = 0, credentials: grpc.ServerCredentials | None = None) -> str:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        backend = self

        def servicer(base: type, signal: str) -> Any:
            class Servicer(base):  # type: ignore[misc, valid-type]
                async def Export(self, request: Message, context: grpc.aio.ServicerContext) -> Message:
                    return await backend._grpc_export(signal, request, context)

            return Servicer()

        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            servicer(metrics_service_pb2_grpc.MetricsServiceServicer, "metrics"), server
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(
            servicer(logs_service_pb2_grpc.LogsServiceServicer, "logs"), server
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            servicer(trace_service_pb2_grpc.TraceServiceServicer, "traces"), server
        )
        address = f"127.0.0.1:{port}"
        self.port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
        await server.start()
        self._grpc = server
        return f"127.0.0.1:{self.port}"

    async def _grpc_export(self, signal: str, request: Message, context: grpc.aio.ServicerContext) -> Message:
        self.seen[signal].append(request)
        failure = await self._gate()
        if failure is not None and not failure.partial_rejected:
            details = status_bytes(failure.code.value[0], failure.message, failure.retry_delay)
            await context.abort(
                failure.code, failure.message, trailing_metadata=(("grpc-status-details-bin", details),)
            )
        self.received[signal].append(request)
        self.headers.append({k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)})
        response = RESPONSES[signal]()
        if failure is not None:
            _partial(response, failure)
        return response

    async def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._grpc is not None:
            await self._grpc.stop(None)
            self._grpc = None


def _partial(response: Any, failure: Failure) -> None:
    partial = response.partial_success
    name = next(f.name for f in partial.DESCRIPTOR.fields if f.name.startswith("rejected_"))
    setattr(partial, name, failure.partial_rejected)
    partial.error_message = failure.message


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    """Poll until predicate() is true (a bound for the test, not a timing claim)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
