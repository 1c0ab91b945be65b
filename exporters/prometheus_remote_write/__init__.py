"""Exporter `prometheus_remote_write`: Prometheus remote write 1.0 (protobuf + snappy),
the way Mimir, Cortex, Thanos and Prometheus itself ingest pushed samples."""

from collector.component import Factory
from exporters.prometheus_remote_write.config import RemoteWriteConfig
from exporters.prometheus_remote_write.exporter import RemoteWriteExporter

factory = Factory(
    type="prometheus_remote_write",
    kind="exporter",
    description="pushes metrics with Prometheus remote write 1.0 (Mimir, Cortex, Thanos, Prometheus)",
    config_model=RemoteWriteConfig,
    create=RemoteWriteExporter,
    signals=frozenset({"metrics"}),
)
