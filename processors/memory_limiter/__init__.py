"""Processor `memory_limiter`: refuses data (retryably) above a memory limit."""

from collector.component import Factory
from processors.memory_limiter.config import MemoryLimiterConfig
from processors.memory_limiter.processor import MemoryLimiterProcessor

factory = Factory(
    type="memory_limiter",
    kind="processor",
    description="refuses data above a soft memory limit (retried, pushing back upstream) instead of being OOM-killed",
    config_model=MemoryLimiterConfig,
    create=MemoryLimiterProcessor,
)
