"""Exporter `prometheus`: a pull endpoint in Prometheus text format and OpenMetrics."""

from collector.component import Factory
from exporters.prometheus.config import PrometheusConfig
from exporters.prometheus.exporter import PrometheusExporter

factory = Factory(
    type="prometheus",
    kind="exporter",
    description="serves metrics for Prometheus to scrape (text format and OpenMetrics), default 0.0.0.0:9464/metrics",
    config_model=PrometheusConfig,
    create=PrometheusExporter,
    signals=frozenset({"metrics"}),
)
