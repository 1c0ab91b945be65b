"""Processor `aggregate`: event batches -> counters, gauges, histograms, exponential
histograms and summaries per chosen attributes, emitted on an interval."""

from collector.component import Factory
from processors.aggregate.config import AggregateConfig
from processors.aggregate.processor import AggregateProcessor

factory = Factory(
    type="aggregate",
    kind="processor",
    description="events to metrics (counter, gauge, histogram, exponential histogram, summary) per chosen attributes",
    config_model=AggregateConfig,
    create=AggregateProcessor,
)
