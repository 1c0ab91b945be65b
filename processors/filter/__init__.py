"""Processor `filter`: keep or drop events and metric points by attribute
equality, set membership or regex."""

from collector.component import Factory
from processors.filter.config import FilterConfig
from processors.filter.processor import FilterProcessor

factory = Factory(
    type="filter",
    kind="processor",
    description="keeps or drops events and datapoints by attribute equality, set membership or regex",
    config_model=FilterConfig,
    create=FilterProcessor,
)
