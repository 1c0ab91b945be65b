from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from collector.component import ComponentConfig
from collector.config import Duration

Action = Literal["overflow", "drop_attribute", "drop"]


class MetricLimit(ComponentConfig):
    limit: int | None = Field(None, ge=1, description="series kept for this metric")
    action: Action | None = Field(None, description="what happens to series beyond the limit")
    drop_attribute: str | None = Field(None, description="attribute removed when action is drop_attribute")


class CardinalityLimitConfig(ComponentConfig):
    """A hard limit of series per metric. Series beyond it are folded into one
    series carrying only otel.metric.overflow="true" (totals stay right), or lose
    one attribute (drop_attribute: the series this makes have a budget of `limit`
    of their own, beyond which they overflow), or are dropped (counted)."""

    limit: int = Field(2000, ge=1, description="series kept per metric")
    action: Action = Field("overflow", description="overflow | drop_attribute | drop")
    drop_attribute: str | None = Field(None, description="attribute removed when action is drop_attribute")
    expire_after: Duration = Field(
        300.0, gt=0, description="a series without data for this long is forgotten and frees its slot"
    )
    metrics: dict[str, int | MetricLimit] = Field(
        default_factory=dict, description="per-metric overrides: a limit, or {limit, action, drop_attribute}"
    )

    @model_validator(mode="after")
    def _attribute_named(self) -> CardinalityLimitConfig:
        for name in [None, *self.metrics]:
            limit = self.for_metric(name or "")
            if limit.action == "drop_attribute" and not limit.drop_attribute:
                where = f"metrics.{name}" if name else "the processor"
                raise ValueError(f"action drop_attribute needs `drop_attribute` (the attribute to remove) on {where}")
        return self

    def for_metric(self, name: str) -> MetricLimit:
        """The effective settings for one metric."""
        override = self.metrics.get(name)
        if isinstance(override, int):
            override = MetricLimit(limit=override)
        if override is None:
            override = MetricLimit()
        return MetricLimit(
            limit=override.limit or self.limit,
            action=override.action or self.action,
            drop_attribute=override.drop_attribute or self.drop_attribute,
        )
