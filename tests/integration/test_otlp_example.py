"""configs/examples/mimir-otlp.yaml runs as written (only the endpoint and queue
directory come from the environment) and the in-test OTLP backend receives the
kernel's metrics with the tenant header."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.otlp_backend import OtlpBackend, wait_for

EXAMPLE = ROOT / "configs" / "examples" / "mimir-otlp.yaml"


async def test_mimir_otlp_example_delivers_kernel_metrics(bpf: None, tmp_path: Path) -> None:
    backend = OtlpBackend()
    url = await backend.start_http()
    env = {
        **os.environ,
        "OTLP_ENDPOINT": url,
        "MIMIR_TENANT": "team-a",
        "OTLP_QUEUE_DIR": str(tmp_path / "queue"),
        "EBPF_COLLECTOR_INTERVAL": "200ms",
        "NODE_NAME": "node-1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", "run", "-c", str(EXAMPLE), env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_for(lambda: {"ebpf_syscalls"} <= {name for name, _ in backend.datapoints()}, timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await proc.communicate()
        await backend.stop()
    assert proc.returncode == 0, stderr.decode()
    assert backend.headers[0]["X-Scope-OrgID"] == "team-a"
    resource = backend.received["metrics"][0].resource_metrics[0].resource
    assert {kv.key: kv.value.string_value for kv in resource.attributes}["k8s.node.name"] == "node-1"
