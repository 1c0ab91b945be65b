"""configs/examples/process-audit-otlp.yaml runs as written (endpoints from the
environment): a process that execs `sleep 0.3` arrives in the in-test OTLP backend
as an exec log record (Loki) and as a span from its exec to its exit (Tempo),
placed on the wall clock."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.otlp_backend import OtlpBackend, wait_for

EXAMPLE = ROOT / "configs" / "examples" / "process-audit-otlp.yaml"
SLEEP = "/usr/bin/sleep"


def attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in kvs}


async def test_exec_logs_and_exec_to_exit_spans_reach_loki_and_tempo(bpf: None, tmp_path: Path) -> None:
    loki, tempo = OtlpBackend(), OtlpBackend()
    env = {
        **os.environ,
        "LOKI_OTLP_ENDPOINT": await loki.start_http() + "/otlp",
        "TEMPO_OTLP_ENDPOINT": await tempo.start_http(),
        "LOKI_TENANT": "audit",
        "K8S_AUTH": "none",
        "NODE_NAME": "node-1",
    }
    collector = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", "run", "-c", str(EXAMPLE), env=env, stderr=asyncio.subprocess.PIPE
    )
    runs: dict[int, tuple[int, int]] = {}  # pid -> wall clock before spawn, after exit
    spans: dict[int, Any] = {}

    def span_of_a_run() -> bool:
        for _, span in tempo.spans():
            spans.setdefault(attrs(span.attributes).get("pid", 0), span)
        return any(pid in spans for pid in runs)

    try:
        # the programs attach some time after the process starts: run until one is seen
        deadline = time.monotonic() + 30
        while not span_of_a_run():
            assert collector.returncode is None, "the collector exited"
            assert time.monotonic() < deadline, "no span arrived"
            before = time.time_ns()
            proc = await asyncio.create_subprocess_exec(SLEEP, "0.3")
            await proc.wait()
            runs[proc.pid] = (before, time.time_ns())
            await asyncio.sleep(0.3)
        pid = next(pid for pid in runs if pid in spans)
        await wait_for(lambda: any(attrs(r.attributes).get("pid") == pid for _, r in loki.log_records()), 10)
    finally:
        collector.send_signal(signal.SIGTERM)
        _, stderr = await collector.communicate()
        await loki.stop()
        await tempo.stop()
    assert collector.returncode == 0, stderr.decode()

    span, (before, after) = spans[pid], runs[pid]
    a = attrs(span.attributes)
    assert span.name == "sleep"
    assert a["filename"] == SLEEP and a["ppid"] == os.getpid() and a["uid"] == os.getuid()
    assert a["exit_code"] == 0 and a["exit_signal"] == 0
    # exec to exit: at least the 0.3 s slept, inside the run as seen from here; the kernel's
    # monotonic times became wall-clock times (a 1 s allowance for the offset's precision)
    assert span.end_time_unix_nano - span.start_time_unix_nano >= 300_000_000
    assert before - 1_000_000_000 <= span.start_time_unix_nano < span.end_time_unix_nano <= after + 1_000_000_000
    resource = attrs(next(r for r, _ in tempo.spans()).attributes)
    assert resource["k8s.node.name"] == "node-1"

    record = next(r for _, r in loki.log_records() if attrs(r.attributes).get("pid") == pid)
    la = attrs(record.attributes)
    assert la["filename"] == SLEEP and la["cmdline"] == f"{SLEEP} 0.3" and la["ppid"] == os.getpid()
    assert record.body.string_value == f"sleep exec {SLEEP} 0.3"
    assert before - 1_000_000_000 <= record.time_unix_nano <= after + 1_000_000_000
    assert loki.paths[0] == "/otlp/v1/logs" and loki.headers[0]["X-Scope-OrgID"] == "audit"
    assert tempo.paths[0] == "/v1/traces"
