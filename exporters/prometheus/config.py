from __future__ import annotations

from pydantic import Field

from collector.component import ComponentConfig
from collector.config import Duration, Endpoint


class PrometheusConfig(ComponentConfig):
    endpoint: Endpoint = Field("0.0.0.0:9464", description="host:port to serve on")
    path: str = Field("/metrics", pattern=r"^/")
    metric_expiration: Duration = Field(300.0, description="drop series not updated for this long (0: never)")
    resource_to_telemetry_conversion: bool = Field(
        False, description="copy resource attributes onto every series instead of target_info"
    )
    enable_open_metrics: bool = Field(
        True, description="answer in OpenMetrics when the scraper asks for it (false: always the text format)"
    )
    self_telemetry: bool = Field(True, description="also serve the collector's own ebpf_collector_* metrics")
