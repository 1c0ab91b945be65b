"""pinned_maps: maps another loader (bpftool) created and pinned, read back as
labelled series with types from the maps' own BTF, no decoder config."""

from __future__ import annotations

import shutil
import struct
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.component import ComponentError
from receivers.pinned_maps import factory
from tests.conftest import require_bpf, require_tool
from tests.integration.receiver_harness import make, value
from tests.programs import HERE, compile_bpf

pytestmark = pytest.mark.bpf
BPFFS = Path("/sys/fs/bpf")


@pytest.fixture
def pin_dir() -> Iterator[Path]:
    require_bpf()
    path = BPFFS / f"ebpf-collector-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)  # unpinning frees what the test loaded


def bpftool(*args: str) -> None:
    subprocess.run([require_tool("bpftool"), *args], check=True, capture_output=True, text=True)


def flow_key(port: int, pid: int, proto: int, comm: bytes) -> bytes:
    return struct.pack("<H2xII16s", port, pid, proto, comm)


def update(path: Path, key: bytes, value: bytes) -> None:
    bpftool("map", "update", "pinned", str(path), "key", "hex", *_hex(key), "value", "hex", *_hex(value))


def _hex(data: bytes) -> list[str]:
    return [f"{b:02x}" for b in data]


@pytest.fixture
def flows(pin_dir: Path, tmp_path: Path) -> Path:
    obj = compile_bpf(HERE / "pinned_flows.bpf.c", tmp_path / "pinned_flows.bpf.o")
    bpftool("prog", "loadall", str(obj), str(pin_dir / "progs"), "pinmaps", str(pin_dir / "maps"))
    path = pin_dir / "maps" / "flows"
    update(path, flow_key(443, 1234, 6, b"nginx"), struct.pack("<QQ", 10, 15000))
    update(path, flow_key(53, 42, 17, b"dnsmasq"), struct.pack("<QQ", 3, 300))
    update(path, flow_key(7, 9, 99, b"odd"), struct.pack("<QQ", 1, 1))
    return path


async def test_struct_keys_become_labels_from_btf(flows: Path) -> None:
    receiver, sink, _ = make(factory, {"maps": [{"path": str(flows)}]})
    await receiver.start()
    try:
        await receiver.poll()
        update(flows, flow_key(443, 1234, 6, b"nginx"), struct.pack("<QQ", 11, 16000))
        await receiver.poll()
    finally:
        await receiver.shutdown()
    packets, nbytes = sink.latest("flows_packets"), sink.latest("flows_bytes")
    nginx = {"port": "443", "pid": "1234", "proto": "FLOW_TCP", "comm": "nginx"}
    assert value(packets, **nginx) == 11 and value(nbytes, **nginx) == 16000
    assert value(packets, port="53", pid="42", proto="FLOW_UDP", comm="dnsmasq") == 3
    assert value(packets, comm="odd") == 1 and value(packets, proto="99") == 1  # not in the enum: the number
    assert len(packets.points) == 3 and packets.monotonic


async def test_description_overrides_names_and_decoders(flows: Path) -> None:
    labels = [
        {"name": "port"},
        {"name": "pid", "decoders": [{"name": "uint"}]},
        {"name": "protocol", "decoders": [{"name": "uint"}, {"name": "static_map", "static_map": {"6": "tcp"}}]},
        {"name": "comm", "decoders": [{"name": "string"}, {"name": "regexp", "regexps": ["^nginx$"]}]},
    ]
    labels[0]["decoders"] = [{"name": "uint"}]
    config = {"path": str(flows), "name": "web_bytes", "type": "gauge", "value_field": "bytes", "labels": labels}
    receiver, sink, _ = make(factory, {"maps": [config], "metric_prefix": "pinned_"})
    await receiver.start()
    try:
        await receiver.poll()
    finally:
        await receiver.shutdown()
    metric = sink.latest("pinned_web_bytes")
    assert [p.attributes for p in metric.points] == [{"port": "443", "pid": "1234", "protocol": "tcp", "comm": "nginx"}]
    assert value(metric, comm="nginx") == 15000 and not metric.monotonic


async def test_map_without_btf_needs_labels(pin_dir: Path) -> None:
    path = pin_dir / "plain"
    bpftool("map", "create", str(path), "type", "hash", "key", "4", "value", "8", "entries", "8", "name", "plain")
    update(path, struct.pack("<I", 7), struct.pack("<Q", 70))
    receiver, _, _ = make(factory, {"maps": [{"path": str(path)}]})
    with pytest.raises(
        ComponentError, match=r"maps\[0\]: .*plain: map 'plain' carries no BTF.*describe it with `labels`"
    ):
        await receiver.start()
    labels = [{"name": "key", "size": 4, "decoders": [{"name": "uint"}]}]
    receiver, sink, _ = make(factory, {"maps": [{"path": str(path), "labels": labels}]})
    await receiver.start()
    await receiver.shutdown()
    assert value(sink.latest("plain"), key="7") == 70


async def test_missing_pin_is_a_clear_error(pin_dir: Path) -> None:
    receiver, _, _ = make(factory, {"maps": [{"path": str(pin_dir / "nope")}]}, name="x")
    with pytest.raises(ComponentError, match=r"receivers.pinned_maps/x.maps\[0\]: .*nope: cannot open pinned map"):
        await receiver.start()
