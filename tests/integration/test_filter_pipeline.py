"""A pipeline from YAML with real eBPF: syscalls counted in the kernel, narrowed by
`filter` to one program's processes, given host metadata by `k8s_metadata`
outside Kubernetes, written as JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

from collector.config import load_config_text
from collector.service import Service

CONFIG = """\
receivers:
  ebpf_maps:
    programs: [syscalls]
    interval: 200ms
processors:
  filter:
    include:
      comm: {{regex: "^k8sfilt"}}
  k8s_metadata:
    auth: none
exporters:
  json:
    path: {out}
service:
  pipelines:
    metrics:
      receivers: [ebpf_maps]
      processors: [filter, k8s_metadata]
      exporters: [json]
"""


async def test_filter_keeps_one_programs_syscalls(bpf: None, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    service = Service(load_config_text(CONFIG.format(out=out), "pipeline.yaml"))
    probe = tmp_path / "k8sfilt-probe"
    shutil.copy(shutil.which("true") or "/bin/true", probe)
    await service.start()
    try:
        lines: list[dict[str, object]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not lines:
            assert loop.time() < deadline, "no filtered syscall counts were exported"
            subprocess.run([str(probe)], check=True)
            await asyncio.sleep(0.2)
            if out.exists():
                lines = [json.loads(line) for line in out.read_text().splitlines()]
    finally:
        await service.shutdown()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["attributes"]["comm"] for line in lines} == {"k8sfilt-probe"}  # type: ignore[index]
    assert all(line["resource"]["host.name"] == os.uname().nodename for line in lines)  # type: ignore[index]
    # the probe's own syscalls after exec (its execve counts under the parent's name)
    assert "exit_group" in {line["attributes"]["syscall"] for line in lines}  # type: ignore[index]
