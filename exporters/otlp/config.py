from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector.component import ComponentConfig
from collector.config import Duration
from collector.model import AttrValue
from collector.net import ClientTls
from collector.otlp import LogMapping, SpanMapping


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsSettings(ClientTls):
    insecure: bool = Field(False, description="plaintext (no TLS) when the endpoint has no scheme; for loopback")


class RetrySettings(_Section):
    """Exponential backoff with jitter on retryable failures (the backend's Retry-After
    or RetryInfo wins when it asks for longer)."""

    enabled: bool = True
    initial_interval: Duration = Field(5.0, description="wait after the first failure")
    max_interval: Duration = Field(30.0, description="upper bound of one wait")
    multiplier: float = Field(1.5, ge=1.0)
    randomization_factor: float = Field(0.5, ge=0.0, le=1.0, description="jitter: wait * (1 ± factor)")
    max_elapsed_time: Duration = Field(
        0.0, description="give a request up after this long (0: retry until sent; the queue bound limits loss)"
    )


class QueueSettings(_Section):
    """The bounded sending queue between the pipeline and the network."""

    enabled: bool = True
    num_consumers: int = Field(2, ge=1, le=64, description="requests sent concurrently")
    max_items: int = Field(
        1_000_000, ge=1, description="datapoints, log records or spans held; beyond, new data is dropped and counted"
    )
    max_bytes: int = Field(256 << 20, ge=1024, description="encoded bytes held in memory or on disk")
    directory: str | None = Field(
        None, description="persistent queue: keep requests in this directory until sent (survives kill -9)"
    )


class OtlpConfig(ComponentConfig):
    protocol: Literal["grpc", "http"] = Field("grpc", description="gRPC or HTTP/protobuf")
    endpoint: str = Field(
        description="gRPC: host:port or http(s)://host:port; HTTP: base URL, /v1/<signal> is appended "
        "(e.g. http://mimir:8080/otlp, http://loki:3100/otlp, http://tempo:4318)"
    )
    metrics_endpoint: str | None = Field(None, description="HTTP: full URL for metrics instead of endpoint")
    logs_endpoint: str | None = Field(None, description="HTTP: full URL for logs instead of endpoint")
    traces_endpoint: str | None = Field(None, description="HTTP: full URL for traces instead of endpoint")
    headers: dict[str, str] = Field(
        default_factory=dict, description="sent with every request, e.g. X-Scope-OrgID, Authorization: ${env:TOKEN}"
    )
    compression: Literal["gzip", "none"] = "gzip"
    timeout: Duration = Field(10.0, gt=0, description="per request")
    tls: TlsSettings = TlsSettings()
    retry_on_failure: RetrySettings = RetrySettings()
    sending_queue: QueueSettings = QueueSettings()
    max_request_items: int = Field(
        8192, ge=1, description="datapoints, records or spans per request (gRPC servers refuse messages over 4 MiB)"
    )
    shutdown_timeout: Duration = Field(10.0, description="on shutdown (SIGTERM), time to flush the in-memory queue")
    resource: dict[str, AttrValue] = Field(
        default_factory=lambda: dict[str, AttrValue]({"service.name": "ebpf-collector"}),
        description="resource attributes added to every request (a batch's own attributes take precedence)",
    )
    logs: LogMapping = Field(LogMapping(), description="how kernel events become log records")
    traces: SpanMapping | None = Field(None, description="how kernel events become spans (needed for traces)")

    @model_validator(mode="after")
    def _urls(self) -> OtlpConfig:
        scheme = self.endpoint.partition("://")[0] if "://" in self.endpoint else ""
        if scheme not in ("", "http", "https"):
            raise ValueError(f"endpoint {self.endpoint!r}: expected host:port or an http:// or https:// URL")
        if self.protocol == "grpc" and "/" in self.endpoint.partition("://")[2 if scheme else 0].rstrip("/"):
            raise ValueError(f"endpoint {self.endpoint!r}: gRPC takes host:port, without a path")
        for name in ("metrics_endpoint", "logs_endpoint", "traces_endpoint"):
            url = getattr(self, name)
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"{name} {url!r}: expected a full http:// or https:// URL")
        return self
