"""Processor `attributes`: insert, update, upsert, delete, rename and hash attributes
of metric points and fields of events."""

from collector.component import Factory
from processors.attributes.config import AttributesConfig
from processors.attributes.processor import AttributesProcessor

factory = Factory(
    type="attributes",
    kind="processor",
    description="insert, update, upsert, delete, rename or hash (SHA-256) attributes and event fields",
    config_model=AttributesConfig,
    create=AttributesProcessor,
)
