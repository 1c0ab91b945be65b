"""End to end: the collector process with in-kernel aggregation (ebpf_maps) pushing
over remote write to a real Prometheus, as an SRE would configure it for Mimir."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

from tests.prometheus_server import PrometheusServer

CONFIG = """
receivers:
  ebpf_maps:
    programs: [syscalls, runqlat]
    interval: 300ms
exporters:
  prometheus_remote_write:
    endpoint: {url}/api/v1/write
    tenant: team-a
    external_labels: {{cluster: e2e}}
service:
  pipelines:
    metrics:
      receivers: [ebpf_maps]
      exporters: [prometheus_remote_write]
"""


async def test_kernel_metrics_reach_prometheus_by_remote_write(
    bpf: None, tmp_path: Path, collector_cmd: list[str]
) -> None:
    server = PrometheusServer(tmp_path, remote_write_receiver=True).start()
    config = tmp_path / "pipeline.yaml"
    config.write_text(CONFIG.format(url=server.url))
    log = (tmp_path / "collector.log").open("wb")
    proc = subprocess.Popen([*collector_cmd, "run", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        syscalls = await server.wait_for('ebpf_syscalls_total{cluster="e2e",syscall="read"}')
        assert syscalls, (tmp_path / "collector.log").read_text()
        assert all(value > 0 for _, value in syscalls)
        assert await server.wait_for('ebpf_runq_latency_seconds_count{cluster="e2e"}')
        proc.send_signal(signal.SIGTERM)  # flushes what is queued, then exits
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0, (tmp_path / "collector.log").read_text()
        # Everything sent has landed: the classic histogram is consistent, +Inf bucket == count.
        inf = server.value('sum(ebpf_runq_latency_seconds_bucket{cluster="e2e",le="+Inf"})')
        count = server.value('sum(ebpf_runq_latency_seconds_count{cluster="e2e"})')
        assert inf == count and count is not None and count > 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        server.stop()
