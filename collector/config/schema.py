"""The collector's top-level config shape (OpenTelemetry Collector style)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


OverflowPolicy = Literal["block", "drop_newest", "drop_oldest"]


class QueueSettings(_Strict):
    """The bounded queue in front of a pipeline. `block` applies backpressure to
    receivers (a map poller just polls later; an event reader lets the kernel buffer
    fill and count its own losses); the drop policies count what they drop."""

    size: int = Field(64, ge=1, description="batches held before the overflow policy applies")
    overflow: OverflowPolicy = "block"


class PipelineSettings(_Strict):
    receivers: list[str] = Field(min_length=1)
    processors: list[str] = Field(default_factory=list)
    exporters: list[str] = Field(min_length=1)
    queue: QueueSettings = QueueSettings()


class LogSettings(_Strict):
    level: Literal["debug", "info", "warn", "warning", "error"] = "info"


class TelemetrySettings(_Strict):
    logs: LogSettings = LogSettings()


class ServiceSettings(_Strict):
    pipelines: dict[str, PipelineSettings] = Field(min_length=1)
    telemetry: TelemetrySettings = TelemetrySettings()
    extensions: list[str] = Field(default_factory=list)


class RawConfig(_Strict):
    """The document before component configs are validated by their own models."""

    receivers: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    processors: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    exporters: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    extensions: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    service: ServiceSettings
