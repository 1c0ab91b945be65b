"""OpenTelemetry -> Prometheus naming (the OTel spec's compatibility rules)."""

from __future__ import annotations

import pytest

from exporters.prometheus.naming import label_name, label_pairs, metric_name, unit_suffix


@pytest.mark.parametrize(
    ("name", "unit", "counter", "gauge", "expected"),
    [
        ("http.server.duration", "s", False, False, "http_server_duration_seconds"),
        ("process.memory", "By", False, True, "process_memory_bytes"),
        ("net.io", "By", True, False, "net_io_bytes_total"),
        ("requests", "", True, False, "requests_total"),
        ("requests_total", "", True, False, "requests_total"),  # never doubled
        ("latency_seconds", "s", False, False, "latency_seconds"),  # unit already there
        ("read.bytes_total", "By", True, False, "read_bytes_total"),
        ("cpu.utilization", "1", False, True, "cpu_utilization_ratio"),
        ("cpu.utilization", "1", True, False, "cpu_utilization_total"),  # `_ratio` is for gauges only
        ("packets", "{packets}", True, False, "packets_total"),  # annotations carry no unit
        ("throughput", "By/s", False, True, "throughput_bytes_per_second"),
        ("speed", "m/s", False, True, "speed_meters_per_second"),
        ("rate", "{req}/min", False, True, "rate_per_minute"),
        ("runq", "us", False, False, "runq_microseconds"),
        ("temp", "Cel", False, True, "temp_celsius"),
        ("odd-name/with spaces", "", False, True, "odd_name_with_spaces"),
        ("2xx.responses", "", True, False, "_2xx_responses_total"),
        ("k8s:pod.cpu", "ns", True, False, "k8s:pod_cpu_nanoseconds_total"),  # colons are valid
        ("weird", "Foo Bar", False, True, "weird_Foo_Bar"),
    ],
)
def test_metric_name(name: str, unit: str, counter: bool, gauge: bool, expected: str) -> None:
    assert metric_name(name, unit, counter, gauge) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("k8s.pod.name", "k8s_pod_name"),
        ("http.status-code", "http_status_code"),
        ("2nd", "key_2nd"),
        ("__meta", "_meta"),  # `__` is reserved for Prometheus
        ("ünïcode", "_n_code"),
        ("", "_"),
    ],
)
def test_label_name(key: str, expected: str) -> None:
    assert label_name(key) == expected


def test_unit_suffix_of_empty_and_annotation_only_units() -> None:
    assert unit_suffix("") == ""
    assert unit_suffix("{events}") == ""
    assert unit_suffix("KiBy") == "kibibytes"


def test_label_pairs_are_sorted_and_colliding_keys_joined() -> None:
    pairs = label_pairs([("b", 1), ("a.b", "x"), ("a_b", "y"), ("ok", True)])
    assert pairs == [("a_b", "x;y"), ("b", "1"), ("ok", "true")]
