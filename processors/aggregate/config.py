from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from collector.component import ComponentConfig
from collector.config import Duration
from collector.model.buckets import MAX_SCALE, MIN_SCALE

AggregationType = Literal["counter", "gauge", "histogram", "exponential_histogram", "summary"]

# OTel SDK default explicit bounds, used when a histogram names none.
DEFAULT_BOUNDS = (0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0, 1e4)


class MetricSpec(ComponentConfig):
    """One metric computed from events."""

    name: str = Field(min_length=1, description="metric name, e.g. triangle_corp_runq_microseconds")
    type: AggregationType = Field(description="counter | gauge | histogram | exponential_histogram | summary")
    field: str | None = Field(
        None, description="event field or column holding the value; a counter without one counts events"
    )
    group_by: list[str] = Field(
        default_factory=list,
        description="fields or columns that become attributes; one a batch lacks (no pod matched) is an empty value",
    )
    source: str | None = Field(None, description="only events from this source (EventBatch.source)")
    multiplier: float = Field(1.0, gt=0, description="applied to the field, e.g. 0.001 for ns to µs")
    description: str = ""
    unit: str = ""
    monotonic: bool = Field(True, description="counter only: false for sums that can go down")
    gauge: Literal["last", "min", "max"] = Field("last", description="gauge only: value reported for the window")
    bounds: list[float] | None = Field(None, description="histogram only: upper-inclusive bucket bounds")
    max_size: int = Field(160, ge=2, description="exponential_histogram only: most buckets per sign")
    max_scale: int = Field(MAX_SCALE, ge=MIN_SCALE, le=MAX_SCALE, description="exponential_histogram: start scale")
    quantiles: list[float] = Field(
        default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0], description="summary only: quantiles in [0, 1]"
    )
    max_samples: int = Field(
        1_000_000, ge=1, description="summary only: values kept per window for quantiles (then subsampled)"
    )
    max_series: int = Field(
        2000, ge=1, description="series kept; new groups beyond fold into one otel.metric.overflow series"
    )

    @field_validator("bounds")
    @classmethod
    def _increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b >= a for a, b in zip(value[1:], value, strict=False)):
            raise ValueError("bounds must be strictly increasing")
        return value

    @field_validator("quantiles")
    @classmethod
    def _quantiles(cls, value: list[float]) -> list[float]:
        if not value or any(not 0.0 <= q <= 1.0 for q in value):
            raise ValueError("quantiles are numbers in [0, 1], at least one")
        return sorted(set(value))

    @model_validator(mode="after")
    def _needs_field(self) -> MetricSpec:
        if self.type != "counter" and self.field is None:
            raise ValueError(f"a {self.type} needs `field`: the event field holding the value")
        if self.bounds is not None and self.type != "histogram":
            raise ValueError("`bounds` applies to histograms only")
        return self


class AggregateConfig(ComponentConfig):
    """Turns event batches into metrics over an interval."""

    interval: Duration = Field(10.0, gt=0, description="how often metrics are emitted")
    temporality: Literal["cumulative", "delta"] = Field(
        "cumulative", description="cumulative (Prometheus) or delta points"
    )
    expire_after: Duration = Field(300.0, gt=0, description="series without events for this long are forgotten")
    forward_events: bool = Field(False, description="also pass the events on (for a logs/traces pipeline)")
    metrics: list[MetricSpec] = Field(min_length=1)

    @field_validator("metrics")
    @classmethod
    def _unique_names(cls, value: list[MetricSpec]) -> list[MetricSpec]:
        names = [m.name for m in value]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"metric {sorted(dup)[0]!r} is defined twice")
        return value
