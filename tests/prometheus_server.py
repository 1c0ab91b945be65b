"""A real Prometheus server (Debian's `prometheus` package) for tests: started on
loopback with a temporary storage dir, queried back through its HTTP API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port, require_tool


class PrometheusServer:
    def __init__(self, workdir: Path, scrape_targets: Sequence[str] = (), remote_write_receiver: bool = False) -> None:
        self.workdir = workdir
        self.scrape_targets = list(scrape_targets)
        self.remote_write_receiver = remote_write_receiver
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        binary = require_tool("prometheus")
        config: dict[str, Any] = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}}
        if self.scrape_targets:
            config["scrape_configs"] = [
                {"job_name": "collector", "scrape_interval": "1s", "static_configs": [{"targets": self.scrape_targets}]}
            ]
        config_file = self.workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        args = [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        if self.remote_write_receiver:
            args.append("--web.enable-remote-write-receiver")  # the flag's name since Prometheus 2.33
        self.log = (self.workdir / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(self.workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("prometheus did not become ready")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        """An instant query: [(labels, value)], via /api/v1/query."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return [(r["metric"], float(r["value"][1])) for r in body["data"]["result"]]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        assert len(result) <= 1, f"{expr} matched {len(result)} series: {result}"
        return result[0][1] if result else None

    async def wait_for(self, expr: str, timeout: float = 30.0) -> list[tuple[dict[str, str], float]]:
        """Poll until `expr` returns something (scrapes and remote writes land asynchronously).
        Async, so an exporter on the same event loop keeps serving meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            result = await asyncio.to_thread(self.query, expr)
            if result or time.monotonic() > deadline:
                return result
            await asyncio.sleep(0.2)
