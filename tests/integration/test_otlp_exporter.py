"""The otlp exporter against in-test OTLP backends (official protobuf types, real
gRPC and HTTP servers on loopback): what arrives, retries, refusals, faults."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
import pytest
from opentelemetry.proto.metrics.v1 import metrics_pb2

from collector.component import ComponentContext, ComponentId
from collector.config import load_config_text
from collector.model import (
    EventBatch,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricBatch,
    MetricKind,
    NumberPoint,
    SummaryPoint,
    Temporality,
)
from collector.telemetry import Telemetry
from exporters.otlp.config import OtlpConfig
from exporters.otlp.exporter import OtlpExporter
from tests.conftest import free_port
from tests.otlp_backend import Failure, OtlpBackend, wait_for

FAST_RETRY = {"initial_interval": "10ms", "max_interval": "50ms"}
T0 = 1_700_000_000_000_000_000


def make_exporter(**cfg: Any) -> tuple[OtlpExporter, Telemetry]:
    telemetry = Telemetry()
    cfg.setdefault("retry_on_failure", FAST_RETRY)
    ctx = ComponentContext(ComponentId("otlp"), "exporter", telemetry)
    return OtlpExporter(OtlpConfig.model_validate(cfg), ctx), telemetry


@pytest.fixture
async def backend() -> AsyncIterator[OtlpBackend]:
    b = OtlpBackend()
    yield b
    await b.stop()


async def endpoint(backend: OtlpBackend, protocol: str) -> str:
    return await (backend.start_grpc() if protocol == "grpc" else backend.start_http())


def all_kinds() -> MetricBatch:
    pod = {"k8s.pod.name": "shop-1", "k8s.namespace.name": "shop"}
    return MetricBatch(
        [
            Metric("syscalls_total", MetricKind.SUM, [NumberPoint({**pod, "syscall": "read"}, 42, T0, T0 + 5)],
                   "Syscalls", "1", monotonic=True),
            Metric("open_files", MetricKind.GAUGE, [NumberPoint(pod, 3.5, T0, T0 + 5)]),
            Metric("bytes_delta", MetricKind.SUM, [NumberPoint(pod, 7, T0 + 1, T0 + 5)],
                   temporality=Temporality.DELTA),
            Metric("latency_seconds", MetricKind.HISTOGRAM,
                   [HistogramPoint(pod, (0.1, 1.0), [1, 2, 3], 9.5, T0, T0 + 5, min=0.05, max=4.0)], unit="s"),
            Metric("runq_latency", MetricKind.EXPONENTIAL_HISTOGRAM,
                   [ExponentialHistogramPoint(pod, 0, 1, 3, [4, 5], 100.0, T0, T0 + 5)]),
            Metric("runq_summary", MetricKind.SUMMARY,
                   [SummaryPoint(pod, [(0.0, 1.0), (0.5, 2.0), (1.0, 9.0)], 30.0, 10, T0, T0 + 5)]),
        ],
        resource={"k8s.node.name": "node-a"},
    )  # fmt: skip


def decoded(backend: OtlpBackend) -> dict[str, Any]:
    req = backend.received["metrics"][0]
    return {m.name: m for m in req.resource_metrics[0].scope_metrics[0].metrics}


@pytest.mark.parametrize("protocol", ["http", "grpc"])
async def test_every_metric_kind_arrives_decoded_with_headers(backend: OtlpBackend, protocol: str) -> None:
    url = await endpoint(backend, protocol)
    yaml = f"""
receivers: {{ebpf_maps: {{programs: [syscalls]}}}}
exporters:
  otlp:
    protocol: {protocol}
    endpoint: {url}
    tls: {{insecure: true}}
    headers: {{X-Scope-OrgID: tenant-1, Authorization: "Bearer ${{env:OTLP_TOKEN}}"}}
service: {{pipelines: {{metrics: {{receivers: [ebpf_maps], exporters: [otlp]}}}}}}
"""
    config = load_config_text(yaml, "test.yaml", env={"OTLP_TOKEN": "s3cret"})
    spec = config.get("exporter", ComponentId("otlp"))
    exporter = OtlpExporter(spec.config, ComponentContext(spec.id, "exporter", Telemetry()))  # type: ignore[arg-type]
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await exporter.shutdown()

    headers = {k.lower(): v for k, v in backend.headers[0].items()}
    assert headers["x-scope-orgid"] == "tenant-1"
    assert headers["authorization"] == "Bearer s3cret"
    if protocol == "http":
        assert headers["content-encoding"] == "gzip"
        assert headers["content-type"] == "application/x-protobuf"
    req = backend.received["metrics"][0]
    resource = {kv.key: kv.value.string_value for kv in req.resource_metrics[0].resource.attributes}
    assert resource == {"service.name": "ebpf-collector", "k8s.node.name": "node-a"}
    m = decoded(backend)
    s = m["syscalls_total"]
    assert s.sum.is_monotonic and s.sum.aggregation_temporality == metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    assert s.description == "Syscalls" and s.unit == "1"
    dp = s.sum.data_points[0]
    assert (dp.as_int, dp.start_time_unix_nano, dp.time_unix_nano) == (42, T0, T0 + 5)
    assert {kv.key: kv.value.string_value for kv in dp.attributes} == {
        "k8s.pod.name": "shop-1",
        "k8s.namespace.name": "shop",
        "syscall": "read",
    }
    assert m["open_files"].gauge.data_points[0].as_double == 3.5
    delta = m["bytes_delta"].sum
    assert delta.aggregation_temporality == metrics_pb2.AGGREGATION_TEMPORALITY_DELTA and not delta.is_monotonic
    assert delta.data_points[0].start_time_unix_nano == T0 + 1
    h = m["latency_seconds"].histogram.data_points[0]
    assert (list(h.explicit_bounds), list(h.bucket_counts), h.count, h.sum, h.min, h.max) == (
        [0.1, 1.0], [1, 2, 3], 6, 9.5, 0.05, 4.0,
    )  # fmt: skip
    e = m["runq_latency"].exponential_histogram.data_points[0]
    assert (e.scale, e.zero_count, e.positive.offset, list(e.positive.bucket_counts), e.count) == (0, 1, 3, [4, 5], 10)
    q = m["runq_summary"].summary.data_points[0]
    assert [(v.quantile, v.value) for v in q.quantile_values] == [(0.0, 1.0), (0.5, 2.0), (1.0, 9.0)]
    assert (q.count, q.sum) == (10, 30.0)


def open_events(n: int) -> EventBatch:
    dtype = np.dtype([("pid", "<u4"), ("comm", "S16"), ("filename", "S64"), ("ts", "<u8")])
    records = np.zeros(n, dtype)
    records["pid"] = np.arange(100, 100 + n)
    records["comm"] = b"cat"
    records["filename"] = [f"/etc/file{i}".encode() for i in range(n)]
    records["ts"] = time.monotonic_ns() - 1_000_000_000  # one second ago, kernel clock
    pods = np.array([f"pod-{i % 2}" for i in range(n)], dtype=object)
    return EventBatch("open", records, time.time_ns(), {"k8s.namespace.name": "shop"}, {"k8s.pod.name": pods})


@pytest.mark.parametrize("protocol", ["http", "grpc"])
async def test_each_event_becomes_a_log_record(backend: OtlpBackend, protocol: str) -> None:
    url = await endpoint(backend, protocol)
    exporter, _ = make_exporter(
        protocol=protocol,
        endpoint=url,
        tls={"insecure": True},
        logs={"body": "{comm} opened {filename}", "time_field": "ts"},
    )
    await exporter.start()
    before = time.time_ns()
    await exporter.export_signal("logs", open_events(5))
    await exporter.shutdown()

    records = list(backend.log_records())
    assert len(records) == 5
    resource, first = records[0]
    assert {kv.key: kv.value.string_value for kv in resource.attributes} == {
        "service.name": "ebpf-collector",
        "k8s.namespace.name": "shop",
    }
    assert first.body.string_value == "cat opened /etc/file0"
    attrs = {kv.key: kv.value for kv in first.attributes}
    assert attrs["pid"].int_value == 100 and attrs["comm"].string_value == "cat"
    assert attrs["k8s.pod.name"].string_value == "pod-0"
    assert first.severity_text == "INFO" and first.event_name == "open"
    # the kernel's monotonic timestamp became wall-clock time, about a second before the export
    assert before - 3_000_000_000 < first.time_unix_nano < before
    assert [r.body.string_value for _, r in records][-1] == "cat opened /etc/file4"


@pytest.mark.parametrize("protocol", ["http", "grpc"])
async def test_latency_events_become_spans_with_real_times(backend: OtlpBackend, protocol: str) -> None:
    url = await endpoint(backend, protocol)
    exporter, _ = make_exporter(
        protocol=protocol,
        endpoint=url,
        tls={"insecure": True},
        traces={"name": "{op} {disk}", "start_field": "start_ns", "end_field": "end_ns", "kind": "client"},
    )
    n = 4
    dtype = np.dtype([("start_ns", "<u8"), ("end_ns", "<u8"), ("disk", "S8"), ("op", "S8"), ("bytes", "<u4")])
    events = np.zeros(n, dtype)
    now_mono = time.monotonic_ns()
    events["start_ns"] = now_mono - 5_000_000 * np.arange(1, n + 1)
    events["end_ns"] = events["start_ns"] + 1_000_000 * np.arange(1, n + 1)  # 1, 2, 3, 4 ms
    events["disk"], events["op"], events["bytes"] = b"sda", b"write", 4096
    await exporter.start()
    before = time.time_ns()
    await exporter.export_signal("traces", EventBatch("block_io", events, time.time_ns()))
    await exporter.shutdown()

    spans = [s for _, s in backend.spans()]
    assert [s.name for s in spans] == ["write sda"] * n
    assert [s.end_time_unix_nano - s.start_time_unix_nano for s in spans] == [1_000_000 * i for i in range(1, n + 1)]
    for s in spans:
        assert before - 2_000_000_000 < s.start_time_unix_nano < before  # wall clock, not boot-relative
        assert len(s.trace_id) == 16 and len(s.span_id) == 8 and s.kind == s.SPAN_KIND_CLIENT
        assert {kv.key for kv in s.attributes} == {"disk", "op", "bytes"}  # time fields are the span's times
    assert len({s.span_id for s in spans}) == n


async def test_traces_without_a_mapping_is_a_clear_error(backend: OtlpBackend) -> None:
    exporter, _ = make_exporter(protocol="http", endpoint=await backend.start_http())
    await exporter.start()
    with pytest.raises(ValueError, match="traces pipeline needs `traces:`"):
        await exporter.export_signal("traces", open_events(1))
    await exporter.shutdown()


async def test_503_with_retry_after_is_retried_no_sooner_than_asked(backend: OtlpBackend) -> None:
    backend.fail.extend([Failure(503, {"Retry-After": "1"}), Failure(429, {"Retry-After": "0"})])
    exporter, telemetry = make_exporter(protocol="http", endpoint=await backend.start_http())
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await wait_for(lambda: backend.received["metrics"])
    await exporter.shutdown()
    assert backend.attempts == 3
    # the server asked for one second; backoff alone would have waited ~10 ms (a lower bound, not a timing claim)
    assert backend.attempt_times[1] - backend.attempt_times[0] >= 0.95
    assert telemetry.counter("exporter_send_retries", "").value(exporter="otlp", signal="metrics") == 2
    assert telemetry.counter("exporter_sent_items", "").value(exporter="otlp", signal="metrics") == 6


async def test_permanent_refusal_is_not_retried_and_logged_once(
    backend: OtlpBackend, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail.extend([Failure(400, message="metric name 'x y' is invalid")] * 3)
    exporter, telemetry = make_exporter(protocol="http", endpoint=await backend.start_http())
    await exporter.start()
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            await exporter.export_signal("metrics", all_kinds())
        await exporter.shutdown()
    assert backend.attempts == 3  # one per request: none retried
    assert not backend.received["metrics"]
    errors = [r.getMessage() for r in caplog.records if "not retried" in r.getMessage()]
    assert errors == ["metrics refused by " + exporter.config.endpoint + ", not retried: "
                      "HTTP 400: metric name 'x y' is invalid"]  # fmt: skip
    failed = telemetry.counter("exporter_send_failed_items", "")
    assert failed.value(exporter="otlp", signal="metrics", reason="permanent") == 18


async def test_grpc_unavailable_and_resource_exhausted_with_retry_info_are_retried(backend: OtlpBackend) -> None:
    backend.fail.extend(
        [
            Failure(code=grpc.StatusCode.UNAVAILABLE),
            Failure(code=grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay=0.5, message="rate limited"),
        ]
    )
    exporter, telemetry = make_exporter(protocol="grpc", endpoint=await backend.start_grpc(), tls={"insecure": True})
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await wait_for(lambda: backend.received["metrics"])
    await exporter.shutdown()
    assert backend.attempts == 3
    assert backend.attempt_times[2] - backend.attempt_times[1] >= 0.45  # RetryInfo's delay was honoured
    assert telemetry.counter("exporter_sent_items", "").value(exporter="otlp", signal="metrics") == 6


@pytest.mark.parametrize(
    "failure",
    [
        Failure(code=grpc.StatusCode.INVALID_ARGUMENT, message="bad attribute"),
        Failure(code=grpc.StatusCode.RESOURCE_EXHAUSTED, message="message too large"),  # no RetryInfo
        Failure(code=grpc.StatusCode.UNAUTHENTICATED, message="bad token"),
    ],
)
async def test_grpc_permanent_errors_are_not_retried(
    backend: OtlpBackend, failure: Failure, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail.append(failure)
    exporter, telemetry = make_exporter(protocol="grpc", endpoint=await backend.start_grpc(), tls={"insecure": True})
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await exporter.shutdown()
    assert backend.attempts == 1
    assert f"{failure.code.name}: {failure.message}" in caplog.text
    failed = telemetry.counter("exporter_send_failed_items", "")
    assert failed.value(exporter="otlp", signal="metrics", reason="permanent") == 6


@pytest.mark.parametrize("protocol", ["http", "grpc"])
async def test_partial_success_is_counted(
    backend: OtlpBackend, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend.fail.append(Failure(partial_rejected=2, message="2 datapoints out of order"))
    exporter, telemetry = make_exporter(
        protocol=protocol, endpoint=await endpoint(backend, protocol), tls={"insecure": True}
    )
    await exporter.start()
    await exporter.export_signal("metrics", all_kinds())
    await exporter.shutdown()
    assert telemetry.counter("exporter_sent_items", "").value(exporter="otlp", signal="metrics") == 4
    failed = telemetry.counter("exporter_send_failed_items", "")
    assert failed.value(exporter="otlp", signal="metrics", reason="rejected") == 2
    assert "2 datapoints out of order" in caplog.text


def numbered(i: int, points: int = 10) -> MetricBatch:
    """A batch whose datapoints say which batch they came from."""
    pts = [NumberPoint({"batch": str(i), "n": str(k)}, k, T0, T0 + i) for k in range(points)]
    return MetricBatch([Metric("m", MetricKind.SUM, pts, monotonic=True)])  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", ["http", "grpc"])
async def test_backend_down_then_back_loses_nothing_within_the_bound(backend: OtlpBackend, protocol: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}" if protocol == "http" else f"127.0.0.1:{port}"
    exporter, telemetry = make_exporter(
        protocol=protocol, endpoint=url, tls={"insecure": True}, sending_queue={"max_items": 200}
    )
    await exporter.start()
    for i in range(25):  # 250 datapoints while nothing listens: 200 fit, 50 are dropped and counted
        await exporter.export_signal("metrics", numbered(i))
    dropped = telemetry.counter("queue_dropped_items", "").value(queue="exporter/otlp/sending")
    assert dropped == 50
    retries = telemetry.counter("exporter_send_retries", "")
    await wait_for(lambda: retries.value(exporter="otlp", signal="metrics") >= 3)  # the senders keep trying

    await (backend.start_grpc(port) if protocol == "grpc" else backend.start_http(port))
    await wait_for(lambda: len(backend.datapoints()) == 200, timeout=30)
    await exporter.shutdown()
    batches = {kv.value.string_value for _, p in backend.datapoints() for kv in p.attributes if kv.key == "batch"}
    assert batches == {str(i) for i in range(20)}  # the first 20 batches, whole; the rest counted as dropped
    assert telemetry.counter("exporter_send_failed_items", "").value(exporter="otlp", signal="metrics",
                                                                     reason="permanent") == 0  # fmt: skip


async def test_slow_backend_never_holds_the_pipeline_and_memory_stays_bounded(backend: OtlpBackend) -> None:
    backend.hold = asyncio.Event()  # every request hangs until released
    exporter, telemetry = make_exporter(
        protocol="http",
        endpoint=await backend.start_http(),
        sending_queue={"max_items": 100, "max_bytes": 1 << 20, "num_consumers": 2},
    )
    await exporter.start()
    for i in range(100):  # 1000 datapoints: export returns at once every time although nothing is answered
        await exporter.export_signal("metrics", numbered(i))
    assert exporter.queue is not None
    assert exporter.queue.items <= 100 and exporter.queue.bytes <= 1 << 20
    dropped = telemetry.counter("queue_dropped_items", "").value(queue="exporter/otlp/sending")
    assert dropped == 900
    backend.hold.set()
    await wait_for(lambda: len(backend.datapoints()) == 100)
    await exporter.shutdown()
    assert telemetry.counter("exporter_sent_items", "").value(exporter="otlp", signal="metrics") == 100


async def test_shutdown_flushes_the_queue_then_counts_what_missed_the_deadline(backend: OtlpBackend) -> None:
    backend.hold = asyncio.Event()
    exporter, telemetry = make_exporter(protocol="http", endpoint=await backend.start_http(), shutdown_timeout="5s")
    await exporter.start()
    for i in range(5):
        await exporter.export_signal("metrics", numbered(i))
    asyncio.get_running_loop().call_later(0.2, backend.hold.set)  # the backend answers during the flush
    await exporter.shutdown()
    assert len(backend.datapoints()) == 50

    stuck = OtlpBackend()
    stuck.hold = asyncio.Event()
    exporter, telemetry = make_exporter(protocol="http", endpoint=await stuck.start_http(), shutdown_timeout="200ms")
    await exporter.start()
    await exporter.export_signal("metrics", numbered(0))
    await exporter.shutdown()
    assert telemetry.counter("exporter_send_failed_items", "").value(exporter="otlp", reason="shutdown") == 10
    await stuck.stop()


async def test_large_batches_are_split_into_requests(backend: OtlpBackend) -> None:
    exporter, _ = make_exporter(protocol="grpc", endpoint=await backend.start_grpc(), tls={"insecure": True},
                                max_request_items=300)  # fmt: skip
    await exporter.start()
    await exporter.export_signal("metrics", numbered(0, points=1000))
    await exporter.export_signal("logs", open_events(700))
    await exporter.shutdown()
    assert len(backend.received["metrics"]) == 4 and len(backend.datapoints()) == 1000
    assert len(backend.received["logs"]) == 3 and len(list(backend.log_records())) == 700


async def test_queue_use_is_visible_in_self_telemetry(backend: OtlpBackend, tmp_path: Any) -> None:
    backend.hold = asyncio.Event()
    exporter, telemetry = make_exporter(
        protocol="http", endpoint=await backend.start_http(), sending_queue={"directory": str(tmp_path)}
    )
    await exporter.start()
    await exporter.export_signal("metrics", numbered(0))
    await exporter.export_signal("metrics", numbered(1))
    series = {
        (m.name, tuple(sorted(p.attributes.items()))): p.value for m in telemetry.collect().metrics for p in m.points
    }
    labels = (("exporter", "otlp"), ("storage", "disk"))
    on_disk = sum(f.stat().st_size for f in tmp_path.glob("*.otlp"))
    assert series[("ebpf_collector_exporter_queue_items", labels)] == 20
    assert series[("ebpf_collector_exporter_queue_bytes", labels)] == on_disk > 0
    assert series[("ebpf_collector_exporter_queue_capacity_bytes", labels)] == 256 << 20
    backend.hold.set()
    await exporter.shutdown()


async def test_an_unexpected_error_while_sending_does_not_stop_the_senders(backend: OtlpBackend) -> None:
    exporter, telemetry = make_exporter(
        protocol="http", endpoint=await backend.start_http(), sending_queue={"num_consumers": 1}
    )
    await exporter.start()
    assert exporter.transport is not None
    real_send = exporter.transport.send
    calls = 0

    async def send_failing_once(signal: str, payload: bytes) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("library bug")
        return await real_send(signal, payload)

    exporter.transport.send = send_failing_once  # type: ignore[method-assign]
    await exporter.export_signal("metrics", numbered(0))
    await exporter.export_signal("metrics", numbered(1))
    await exporter.shutdown()
    failed = telemetry.counter("exporter_send_failed_items", "")
    assert failed.value(exporter="otlp", signal="metrics", reason="error") == 10
    assert len(backend.datapoints()) == 10  # the one sender went on with the next request
