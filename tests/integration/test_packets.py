"""Scenario 4, packets per protocol: the example pipeline runs for real, real
UDP, TCP and ICMP go over loopback, and Prometheus-format counts per protocol
number grow by at least what was sent."""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT, free_port, require_bpf

pytestmark = pytest.mark.bpf
EXAMPLE = ROOT / "configs" / "examples" / "packets-per-protocol.yaml"
SERIES = re.compile(r'^test_packets_total\{key="(\d+)",node="([^"]*)"\} (\d+)', re.M)
UDP, TCP, ICMP = 17, 6, 1


@pytest.fixture
def collector(collector_cmd: list[str]) -> Iterator[str]:
    require_bpf()
    port = free_port()
    env = {**os.environ, "EBPF_COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{port}", "PACKETS_INTERFACE": "lo",
           "EBPF_COLLECTOR_INTERVAL": "200ms", "NODE_NAME": "test-node"}  # fmt: skip
    proc = subprocess.Popen([*collector_cmd, "run", "-c", str(EXAMPLE)], env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        _wait_for(lambda: _scrape(url) is not None, proc)
        yield url
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err


def _scrape(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return str(resp.read().decode())
    except OSError:
        return None


def _wait_for(ready: object, proc: subprocess.Popen[str], deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"collector exited: {proc.stderr.read() if proc.stderr else ''}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.1)
    pytest.fail("collector did not get ready")


def counts(url: str) -> dict[int, int]:
    text = _scrape(url) or ""
    found = {int(k): int(v) for k, node, v in SERIES.findall(text) if node == "test-node"}
    return found


def send_traffic(n: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for _ in range(n):
            udp.sendto(b"x", ("127.0.0.1", 9))
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        conn, _ = server.accept()
        for _ in range(n):
            client.sendall(b"y")
            conn.recv(1)
        client.close()
        conn.close()
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as icmp:
        for seq in range(n):
            icmp.sendto(_echo_request(seq), ("127.0.0.1", 0))


def _echo_request(seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq)
    total = sum(struct.unpack("!4H", header))
    checksum = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
    return struct.pack("!BBHHH", 8, 0, checksum, 0x4242, seq)


def test_packets_per_protocol_example(collector: str) -> None:
    n = 50
    before = counts(collector)
    send_traffic(n)
    end = time.monotonic() + 30
    grown: dict[int, int] = {}
    while time.monotonic() < end:
        after = counts(collector)
        grown = {proto: after.get(proto, 0) - before.get(proto, 0) for proto in (UDP, TCP, ICMP)}
        if all(delta >= n for delta in grown.values()):
            break
        time.sleep(0.2)
    assert grown[UDP] >= n and grown[TCP] >= n and grown[ICMP] >= n, grown
    text = _scrape(collector) or ""
    assert re.search(r'ebpf_collector_bpf_programs_loaded\{[^}]*attach="socket"[^}]*\} 1', text)
    runs = re.search(r"ebpf_collector_bpf_program_runs_total\{[^}]*\} (\d+)", text)
    assert runs and int(runs.group(1)) >= 3 * n  # bpf_stats: true in the example
