from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from collector.component import ComponentConfig
from collector.config import Duration
from collector.net import ClientTls

# Headers the protocol fixes; a user header must not change them.
PROTOCOL_HEADERS = frozenset({"content-type", "content-encoding", "x-prometheus-remote-write-version"})
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class RetryConfig(ComponentConfig):
    enabled: bool = Field(True, description="retry 5xx, 429 and connection failures (never other 4xx)")
    initial_interval: Duration = Field(0.1, description="first backoff; doubles per attempt, with jitter")
    max_interval: Duration = Field(5.0, description="longest backoff between two attempts")
    max_elapsed_time: Duration = Field(
        300.0, description="give a request up (counted as failed) after retrying this long; 0: retry forever"
    )

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.initial_interval <= 0:
            raise ValueError("initial_interval must be positive")
        if self.max_interval < self.initial_interval:
            raise ValueError("max_interval must be at least initial_interval")
        return self


class BasicAuthConfig(ComponentConfig):
    username: str = Field(description="e.g. a Grafana Cloud instance id")
    password: str = Field(description="e.g. an API token, written as ${env:TOKEN}")


class RemoteWriteConfig(ComponentConfig):
    endpoint: str = Field(description="remote write URL, e.g. http://mimir:9009/api/v1/push")
    tenant: str | None = Field(None, description="tenant id sent as X-Scope-OrgID (Mimir, Cortex, Loki)")
    headers: dict[str, str] = Field(default_factory=dict, description="extra HTTP headers, e.g. Authorization")
    basic_auth: BasicAuthConfig | None = None
    tls: ClientTls = Field(default_factory=ClientTls)
    timeout: Duration = Field(10.0, gt=0, description="per request")
    external_labels: dict[str, str] = Field(
        default_factory=dict, description="labels added to every series (a series' own label wins)"
    )
    resource_to_telemetry_conversion: bool = Field(
        False, description="copy resource attributes onto every series instead of sending target_info"
    )
    target_info: bool = Field(True, description="send a target_info series per resource (when not copied)")
    max_samples_per_send: int = Field(2000, ge=1, description="samples per request at most")
    queue_size: int = Field(
        100_000, ge=1, description="samples held while the backend is slow or down; beyond it the oldest are dropped"
    )
    flush_timeout: Duration = Field(4.0, description="on shutdown, keep sending what is queued this long at most")
    send_metadata: bool = Field(True, description="send each family's type, help and unit along")
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        fixed = sorted(k for k in value if k.lower() in PROTOCOL_HEADERS)
        if fixed:
            raise ValueError(f"{', '.join(fixed)} is set by the remote write protocol and cannot be changed")
        return value

    @field_validator("external_labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in value if not _LABEL_NAME.match(k) or k.startswith("__"))
        if bad:
            raise ValueError(f"invalid label name(s): {', '.join(bad)} (letters, digits and _, not starting __)")
        return value
