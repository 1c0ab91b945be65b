"""The Prometheus endpoint's exposition: OTel -> Prometheus naming, every metric
kind, and `promtool check metrics` (Debian's prometheus package) accepting it."""

from __future__ import annotations

import subprocess

from collector.model import (
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricKind,
    NumberPoint,
    SummaryPoint,
    Temporality,
)
from exporters.prometheus.naming import label_name, metric_name
from exporters.prometheus.store import MetricStore
from exporters.prometheus.text import render
from tests.conftest import require_tool


def test_naming_rules() -> None:
    assert metric_name("ebpf_runq_latency", "s") == "ebpf_runq_latency_seconds"
    assert metric_name("ebpf_runq_latency_seconds", "s") == "ebpf_runq_latency_seconds"
    assert metric_name("ebpf_syscalls", counter=True) == "ebpf_syscalls_total"
    assert metric_name("ebpf_syscalls_total", counter=True) == "ebpf_syscalls_total"
    assert metric_name("http.server.duration", "ms") == "http_server_duration_milliseconds"
    assert metric_name("net.io", "By", counter=True) == "net_io_bytes_total"
    assert metric_name("cpu.utilization", "1", gauge=True) == "cpu_utilization_ratio"
    assert metric_name("packets", "{packets}", counter=True) == "packets_total"
    assert metric_name("9lives") == "_9lives"
    assert label_name("k8s.pod.name") == "k8s_pod_name"
    assert label_name("0day") == "key_0day"


def sample_store() -> MetricStore:
    store = MetricStore(expiration=0, resource_labels=False)
    store.update(
        [
            Metric(
                "ebpf_syscalls",
                MetricKind.SUM,
                [
                    NumberPoint({"syscall": "getppid", "comm": 'we"ird\\name\n'}, 42, 1, 2),
                ],
                "System calls",
                monotonic=True,
            ),
            Metric("queue.depth", MetricKind.GAUGE, [NumberPoint({}, 1.5, 1, 2)], "Depth"),
            Metric(
                "ebpf_runq_latency",
                MetricKind.HISTOGRAM,
                [
                    HistogramPoint({"cpu": 0}, (0.001, 0.002), [3, 4, 5], 0.05, 1, 2),
                ],
                "Run queue latency",
                unit="s",
            ),
            Metric(
                "io.latency",
                MetricKind.EXPONENTIAL_HISTOGRAM,
                [
                    ExponentialHistogramPoint(
                        {},
                        scale=0,
                        zero_count=1,
                        positive_offset=2,
                        positive_counts=[1, 0, 2],
                        sum=40.0,
                        start_time_ns=1,
                        time_ns=2,
                    ),
                ],
                "IO latency",
                unit="s",
            ),
            Metric(
                "runq",
                MetricKind.SUMMARY,
                [
                    SummaryPoint({}, [(0.0, 1.0), (0.5, 3.0), (1.0, 9.0)], 20.0, 5, 1, 2),
                ],
                "Runq summary",
                unit="s",
            ),
        ],
        resource={"host.name": "node-1"},
    )
    return store


def test_every_kind_renders_and_promtool_accepts_it() -> None:
    text = render(sample_store(), [], openmetrics=False)
    assert 'ebpf_syscalls_total{comm="we\\"ird\\\\name\\n",syscall="getppid"} 42\n' in text
    assert "# TYPE ebpf_runq_latency_seconds histogram\n" in text
    assert 'ebpf_runq_latency_seconds_bucket{cpu="0",le="0.001"} 3\n' in text
    assert 'ebpf_runq_latency_seconds_bucket{cpu="0",le="0.002"} 7\n' in text
    assert 'ebpf_runq_latency_seconds_bucket{cpu="0",le="+Inf"} 12\n' in text
    assert 'ebpf_runq_latency_seconds_count{cpu="0"} 12\n' in text
    # exponential scale 0, offset 2: buckets (4,8], (8,16], (16,32]; zero bucket folds below 4
    assert 'io_latency_seconds_bucket{le="4.0"} 1\n' in text
    assert 'io_latency_seconds_bucket{le="8.0"} 2\n' in text
    assert 'io_latency_seconds_bucket{le="32.0"} 4\n' in text
    assert "io_latency_seconds_count 4\n" in text
    assert 'runq_seconds{quantile="0.5"} 3\n' in text
    assert 'target_info{host_name="node-1"} 1\n' in text
    promtool = require_tool("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_openmetrics_counter_family_and_eof() -> None:
    text = render(sample_store(), [], openmetrics=True)
    assert "# TYPE ebpf_syscalls counter\n" in text
    assert "# TYPE target info\n" in text and "target_info{" in text
    assert text.endswith("# EOF\n")


def test_delta_sums_accumulate_into_cumulative() -> None:
    store = MetricStore(expiration=0, resource_labels=False)
    for _ in range(3):
        store.update(
            [Metric("hits", MetricKind.SUM, [NumberPoint({}, 2, 0, 0)], monotonic=True, temporality=Temporality.DELTA)],
            {},
        )
    assert "hits_total 6\n" in render(store, [], openmetrics=False)


def test_stale_series_expire() -> None:
    store = MetricStore(expiration=0.001, resource_labels=False)
    store.update([Metric("g", MetricKind.GAUGE, [NumberPoint({"a": "1"}, 1, 0, 0)])], {})
    import time

    time.sleep(0.01)
    store.expire()
    assert store.families == {}
