"""BPF maps -> metrics, described in ebpf_exporter's schema (counters, histograms,
labels with decoders). Reusable by any receiver that reads maps."""

from collector.mapmetrics.build import bucket_layout, counter_points, histogram_points
from collector.mapmetrics.reader import BoundMetric, MapMetricError, bind, collect
from collector.mapmetrics.spec import CounterSpec, HistogramSpec, MetricsSpec, ProgramFile

__all__ = [
    "BoundMetric",
    "CounterSpec",
    "HistogramSpec",
    "MapMetricError",
    "MetricsSpec",
    "ProgramFile",
    "bind",
    "bucket_layout",
    "collect",
    "counter_points",
    "histogram_points",
]
