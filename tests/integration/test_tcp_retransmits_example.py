"""configs/examples/tcp-retransmits-per-pod.yaml runs as written: a SYN that the
kernel must retransmit (the listener's accept queue is full) becomes
tcp_retransmits_total{saddr, daddr, dport} on the Prometheus endpoint, and the
successful connects around it are not counted."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, free_port

EXAMPLE = ROOT / "configs" / "examples" / "tcp-retransmits-per-pod.yaml"


async def scrape(url: str) -> dict[tuple[tuple[str, str], ...], float]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    return {
        tuple(sorted((k, v) for k, v in s.labels.items() if v)): s.value  # empty = absent, as in Prometheus
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "tcp_retransmits_total"
    }


async def test_syn_retransmits_are_counted_per_connection_endpoints(bpf: None) -> None:
    port = free_port()
    env = {
        **os.environ,
        "EBPF_COLLECTOR_PROMETHEUS_ENDPOINT": f"127.0.0.1:{port}",
        "RETRANSMITS_INTERVAL": "200ms",
        "K8S_AUTH": "none",
    }
    collector = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", "run", "-c", str(EXAMPLE), env=env, stderr=asyncio.subprocess.PIPE
    )
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)  # room for one pending connection: a further SYN is dropped and retransmitted
    dport = str(server.getsockname()[1])
    sockets = [server]
    want = (("daddr", "127.0.0.1"), ("dport", dport), ("saddr", "127.0.0.1"))
    series: dict[tuple[tuple[str, str], ...], float] = {}
    try:
        deadline = time.monotonic() + 30
        while want not in series:
            assert collector.returncode is None, "the collector exited"
            assert time.monotonic() < deadline, f"no retransmit series for port {dport}: {series}"
            if len(sockets) < 40:  # keep SYNs pending until the collector has attached
                blocked = socket.socket()
                blocked.setblocking(False)
                with pytest.raises(BlockingIOError):
                    blocked.connect(("127.0.0.1", int(dport)))
                sockets.append(blocked)
            await asyncio.sleep(0.5)
            try:
                series = await scrape(f"http://127.0.0.1:{port}/metrics")
            except aiohttp.ClientConnectionError:
                continue  # not serving yet
    finally:
        for s in sockets:
            s.close()
        collector.send_signal(signal.SIGTERM)
        _, stderr = await collector.communicate()
    assert collector.returncode == 0, stderr.decode()
    assert series[want] >= 1
    # only retransmits are counted: every series is a retransmit's endpoints
    assert all(dict(labels).keys() == {"saddr", "daddr", "dport"} for labels in series), series
