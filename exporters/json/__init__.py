"""Exporter `json`: newline-delimited JSON to stdout or a file, for humans and jq."""

from collector.component import Factory
from exporters.json.config import JsonConfig
from exporters.json.exporter import JsonExporter

factory = Factory(
    type="json",
    kind="exporter",
    description="newline-delimited JSON (one datapoint or event per line) to stdout or a file",
    config_model=JsonConfig,
    create=JsonExporter,
)
