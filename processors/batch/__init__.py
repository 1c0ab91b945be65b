"""Processor `batch`: groups data into batches by size and timeout."""

from collector.component import Factory
from processors.batch.config import BatchConfig
from processors.batch.processor import BatchProcessor

factory = Factory(
    type="batch",
    kind="processor",
    description="groups data into batches of send_batch_size items or after timeout; splits at send_batch_max_size",
    config_model=BatchConfig,
    create=BatchProcessor,
)
