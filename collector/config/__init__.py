"""Config loading and validation."""

from collector.config.errors import ConfigError, Position
from collector.config.loader import (
    CollectorConfig,
    ComponentSpec,
    PipelineSpec,
    load_config_file,
    load_config_text,
)
from collector.config.types import Duration, Endpoint, parse_duration, split_endpoint

__all__ = [
    "CollectorConfig",
    "ComponentSpec",
    "ConfigError",
    "Duration",
    "Endpoint",
    "PipelineSpec",
    "Position",
    "load_config_file",
    "load_config_text",
    "parse_duration",
    "split_endpoint",
]
