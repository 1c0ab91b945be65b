"""Processor `cardinality_limit`: a hard series limit per metric that keeps totals right.

Other components can free series at once through the collector-wide notice
`ctx.notices.gone(attribute, value)` (e.g. k8s_metadata when a pod is deleted)."""

from collector.component import Factory
from processors.cardinality_limit.config import CardinalityLimitConfig
from processors.cardinality_limit.processor import CardinalityLimitProcessor

factory = Factory(
    type="cardinality_limit",
    kind="processor",
    description="hard series limit per metric: fold extra series into otel.metric.overflow, drop a label, or drop",
    config_model=CardinalityLimitConfig,
    create=CardinalityLimitProcessor,
)
