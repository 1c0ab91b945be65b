"""The collector as users run it: a process with a pipeline YAML, scraped over
HTTP, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.integration.live import scrape, wait_for
from tests.integration.workloads import build, make_getppid_calls

pytestmark = pytest.mark.usefixtures("bpf")


def bpf_prog_ids(pid: int) -> set[int]:
    """IDs of the BPF programs a process holds, from its fdinfo."""
    ids = set()
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            match = re.search(r"^prog_id:\s+(\d+)", fdinfo.read_text(), re.M)
        except OSError:
            continue
        if match:
            ids.add(int(match.group(1)))
    return ids


def test_default_pipeline_end_to_end(tmp_path: Path, port: int) -> None:
    getppid = build(tmp_path, "getppid")
    env = {
        **os.environ,
        "EBPF_COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{port}",
        "EBPF_COLLECTOR_INTERVAL": "300ms",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "run"],  # no -c: the embedded default pipeline
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: "ebpf_runq_latency_seconds_count" in scrape(port), "first poll", timeout=20)
        progs = bpf_prog_ids(proc.pid)
        assert len(progs) == 4  # sched_wakeup, sched_wakeup_new, sched_switch, sys_enter

        make_getppid_calls(getppid, "e2e_getppid", 4242)
        series = 'ebpf_syscalls_total{comm="e2e_getppid",syscall="getppid"}'

        def exact() -> str | None:
            text = scrape(port)
            return text if f"{series} 4242\n" in text else None

        text = wait_for(exact, "exact count", timeout=20)

        assert "# HELP ebpf_syscalls_total " in text and "# TYPE ebpf_syscalls_total counter" in text
        assert "# TYPE ebpf_runq_latency_seconds histogram" in text
        assert 'ebpf_collector_bpf_programs_loaded{attach="tp_btf",handler="sys_enter"' in text
        assert re.search(r'ebpf_collector_receiver_accepted_items_total\{receiver="ebpf_maps"\} [1-9]', text)
        check = subprocess.run(
            [require_tool("promtool"), "check", "metrics"], input=text, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert scrape(port, "application/openmetrics-text").endswith("# EOF\n")
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, output
    assert time.monotonic() - started < 5
    assert "serving metrics on http://127.0.0.1:" in output
    assert "Traceback" not in output
    # every program is detached and unloaded (the kernel frees them asynchronously)
    bpftool = require_tool("bpftool")

    def unloaded() -> bool:
        return all(
            subprocess.run([bpftool, "prog", "show", "id", str(i)], capture_output=True).returncode != 0 for i in progs
        )

    wait_for(unloaded, "programs to be unloaded", timeout=10)


def test_start_failure_is_one_clear_message(tmp_path: Path, port: int) -> None:
    cfg = tmp_path / "busy.yaml"
    cfg.write_text(
        "receivers: {ebpf_maps: {programs: [syscalls]}}\n"
        f"exporters: {{prometheus: {{endpoint: '127.0.0.1:{port}'}}, prometheus/2: {{endpoint: '127.0.0.1:{port}'}}}}\n"
        "service: {pipelines: {metrics: {receivers: [ebpf_maps], exporters: [prometheus, prometheus/2]}}}\n"
    )
    result = subprocess.run([sys.executable, "-m", "collector", "run", "-c", str(cfg)], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 1
    assert f"exporter prometheus/2: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
