from __future__ import annotations

from pydantic import Field, model_validator

from collector.component import ComponentConfig
from collector.config import Duration


class BatchConfig(ComponentConfig):
    """Groups small batches into bigger ones, for cheaper exports."""

    send_batch_size: int = Field(8192, ge=1, description="datapoints or events that trigger a send")
    send_batch_max_size: int = Field(0, ge=0, description="largest batch sent (bigger ones are split); 0: no limit")
    timeout: Duration = Field(0.2, gt=0, description="longest time data waits for a batch to fill")

    @model_validator(mode="after")
    def _max_not_below_size(self) -> BatchConfig:
        if self.send_batch_max_size and self.send_batch_max_size < self.send_batch_size:
            raise ValueError("send_batch_max_size must be 0 or at least send_batch_size")
        return self
