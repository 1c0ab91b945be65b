"""Exporter `otlp`: OTLP over gRPC or HTTP/protobuf for metrics, logs and traces,
with retries, a bounded sending queue and an optional persistent queue."""

from collector.component import Factory
from exporters.otlp.config import OtlpConfig
from exporters.otlp.exporter import OtlpExporter

factory = Factory(
    type="otlp",
    kind="exporter",
    description="OTLP over gRPC or HTTP/protobuf (Mimir, Tempo, Loki, any OTLP backend), with retry and a queue",
    config_model=OtlpConfig,
    create=OtlpExporter,
)
