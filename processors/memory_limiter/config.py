from __future__ import annotations

from pydantic import Field, model_validator

from collector.component import ComponentConfig
from collector.config import Duration


class MemoryLimiterConfig(ComponentConfig):
    """Refuses data while the collector's memory is above the soft limit
    (limit - spike), so a burst fills bounded queues instead of the heap.
    Give the limit in MiB or as a percentage of the memory available to the
    collector (its cgroup's memory.max, else the machine's memory)."""

    check_interval: Duration = Field(1.0, gt=0, description="how often memory use is measured")
    limit_mib: int | None = Field(None, gt=0, description="hard limit of the collector's memory (RSS), MiB")
    spike_limit_mib: int | None = Field(
        None, ge=0, description="headroom for a spike between checks; soft limit = limit - spike (default 20%)"
    )
    limit_percentage: float | None = Field(None, gt=0, le=100, description="hard limit as % of available memory")
    spike_limit_percentage: float | None = Field(None, ge=0, lt=100, description="spike headroom as %")

    @model_validator(mode="after")
    def _one_limit(self) -> MemoryLimiterConfig:
        if (self.limit_mib is None) == (self.limit_percentage is None):
            raise ValueError("set exactly one of limit_mib or limit_percentage")
        if self.limit_mib is not None and self.spike_limit_percentage is not None:
            raise ValueError("with limit_mib, give the spike as spike_limit_mib")
        if self.limit_percentage is not None and self.spike_limit_mib is not None:
            raise ValueError("with limit_percentage, give the spike as spike_limit_percentage")
        if self.spike_limit_mib is not None and self.limit_mib is not None and self.spike_limit_mib >= self.limit_mib:
            raise ValueError("spike_limit_mib must be below limit_mib")
        if (
            self.spike_limit_percentage is not None
            and self.limit_percentage is not None
            and self.spike_limit_percentage >= self.limit_percentage
        ):
            raise ValueError("spike_limit_percentage must be below limit_percentage")
        return self
