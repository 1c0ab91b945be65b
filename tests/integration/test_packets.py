"""Scenario 4, packets per protocol: the example pipeline runs for real, real
UDP, TCP and ICMP go over loopback, and Prometheus-format counts per protocol
number grow by at least what was sent."""

from __future__ import annotations

import contextlib
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
ATTACHED = re.compile(r'ebpf_collector_bpf_programs_loaded\{[^}]*attach="socket"[^}]*\} 1')
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
        # The endpoint serves before receivers start: wait until the filter is attached.
        _wait_for(lambda: ATTACHED.search(_scrape(url) or "") is not None, proc)
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


def send_traffic(n: int) -> dict[int, int]:
    """Send n UDP datagrams, n TCP segments and n ICMP echo requests over loopback;
    returns how many of each were confirmed delivered (received by their peer)."""
    delivered = {UDP: 0, TCP: 0, ICMP: 0}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(2)
        for _ in range(n):
            tx.sendto(b"x", rx.getsockname())
        with contextlib.suppress(TimeoutError):
            for _ in range(n):
                rx.recv(16)
                delivered[UDP] += 1
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        conn, _ = server.accept()
        with conn:
            for _ in range(n):
                client.sendall(b"y")
                conn.recv(1)
                delivered[TCP] += 1
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as icmp:
        icmp.settimeout(2)
        for seq in range(n):
            icmp.sendto(_echo_request(seq), ("127.0.0.1", 0))
        with contextlib.suppress(TimeoutError):
            while delivered[ICMP] < n:
                packet = icmp.recv(1024)
                if packet[20] == 0:  # echo reply (the raw socket also sees our requests)
                    delivered[ICMP] += 1
    return delivered


def _echo_request(seq: int) -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, 0x4242, seq)
    total = sum(struct.unpack("!4H", header))
    checksum = ~((total & 0xFFFF) + (total >> 16)) & 0xFFFF
    return struct.pack("!BBHHH", 8, 0, checksum, 0x4242, seq)


def test_packets_per_protocol_example(collector: str) -> None:
    n = 50
    before = counts(collector)
    delivered = send_traffic(n)
    assert all(delivered.values()), f"loopback traffic did not arrive: {delivered}"
    grown: dict[int, int] = {}
    end = time.monotonic() + 30
    while time.monotonic() < end:
        after = counts(collector)
        grown = {proto: after.get(proto, 0) - before.get(proto, 0) for proto in (UDP, TCP, ICMP)}
        # Each delivered packet was seen at least once (loopback shows it leaving and arriving).
        if all(grown[proto] >= delivered[proto] for proto in grown):
            break
        time.sleep(0.2)
    assert all(grown[proto] >= delivered[proto] for proto in grown), (grown, delivered)
    text = _scrape(collector) or ""
    runs = re.search(r"ebpf_collector_bpf_program_runs_total\{[^}]*\} (\d+)", text)
    assert runs and int(runs.group(1)) >= sum(delivered.values())  # bpf_stats: true in the example
