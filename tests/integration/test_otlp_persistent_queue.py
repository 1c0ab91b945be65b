"""kill -9 during export with the persistent queue: after a restart, everything
that was queued arrives. The collector runs as a real subprocess with the
ebpf_maps receiver (real eBPF) feeding the otlp exporter."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from tests.conftest import free_port
from tests.otlp_backend import OtlpBackend, wait_for

CONFIG = """
receivers:
  ebpf_maps: {{programs: [syscalls], interval: 100ms}}
exporters:
  otlp:
    protocol: http
    endpoint: http://127.0.0.1:{port}
    compression: gzip
    timeout: 60s
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms}}
    sending_queue: {{directory: {queue}, num_consumers: 2}}
    shutdown_timeout: 5s
service:
  pipelines:
    metrics: {{receivers: [ebpf_maps], exporters: [otlp]}}
"""

Point = tuple[str, tuple[tuple[str, str], ...], int, int]


def identities(requests: list[ExportMetricsServiceRequest]) -> set[Point]:
    """Each datapoint as (metric, attributes, time, value): what must not be lost."""
    out = set()
    for req in requests:
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    for p in m.sum.data_points:
                        attrs = tuple(sorted((kv.key, str(kv.value)) for kv in p.attributes))
                        out.add((m.name, attrs, p.time_unix_nano, p.as_int))
    return out


async def start_collector(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", "run", "-c", str(config), stderr=asyncio.subprocess.PIPE
    )


async def test_kill_9_during_export_then_restart_delivers_everything_queued(bpf: None, tmp_path: Path) -> None:
    queue = tmp_path / "queue"
    port = free_port()
    config = tmp_path / "collector.yaml"
    config.write_text(CONFIG.format(port=port, queue=queue))

    hanging = OtlpBackend()
    hanging.hold = asyncio.Event()  # accepts requests and never answers: exports stay in flight
    await hanging.start_http(port)
    proc = await start_collector(config)
    try:
        await wait_for(lambda: hanging.attempts >= 2 and len(list(queue.glob("*.otlp"))) >= 8)
    finally:
        proc.kill()  # SIGKILL: no flush, no cleanup
        await proc.wait()
    await hanging.stop()

    left = sorted(queue.glob("*.otlp"))
    queued = identities([ExportMetricsServiceRequest.FromString(p.read_bytes()) for p in left])
    in_flight = identities(hanging.seen["metrics"])
    assert len(left) >= 8 and in_flight
    assert in_flight <= queued  # unanswered when killed, so still on disk (at least once)

    backend = OtlpBackend()
    await backend.start_http(port)
    proc = await start_collector(config)
    try:
        await wait_for(lambda: queued <= identities(backend.received["metrics"]), timeout=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await proc.communicate()
        await backend.stop()
    assert proc.returncode == 0, stderr.decode()
    assert f"{len(left)} requests" in stderr.decode()  # the restart said what it found
    assert not list(queue.glob("*.otlp"))  # flushed on SIGTERM: nothing left behind
