"""Each decoder on its own, then chained over key columns (ebpf_exporter semantics)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from collector.decoders import (
    DecoderContext,
    DecoderError,
    DecoderSpec,
    LabelDecodeError,
    LabelSetDecoder,
    LabelSpec,
    SkipLabelSet,
)
from collector.decoders.cgroup_paths import CgroupPaths, cgroup2_mount, cgroup_id
from collector.decoders.majorminor import split_dev
from collector.decoders.registry import DECODERS, decoder_class
from tests.conftest import unavailable


def dec(name: str, ctx: DecoderContext | None = None, **options: Any) -> Any:
    return decoder_class(name)(DecoderSpec(name=name, **options), ctx or DecoderContext())


def u64(n: int) -> bytes:
    return n.to_bytes(8, sys.byteorder)


def test_uint_reads_host_order_integers_of_each_size() -> None:
    d = dec("uint")
    assert [d.decode(b) for b in (b"\x0e", b"\x0e\x00", b"\x0e\0\0\0", u64(2**64 - 1))] == [
        b"14", b"14", b"14", b"18446744073709551615"]  # fmt: skip
    with pytest.raises(DecoderError, match="1 or 2 or 4 or 8 bytes, got 3"):
        d.decode(b"abc")


def test_hex_and_string() -> None:
    assert dec("hex").decode(b"\x01\xab") == b"01ab"
    assert dec("string").decode(b"bash\0\0junk") == b"bash"
    assert dec("string").decode(b"no-nul") == b"no-nul"
    assert dec("string").decode(b"\xff\0") == "\ufffd".encode()  # always valid UTF-8


def test_errno_and_syscall_take_uint_text() -> None:
    assert dec("errno").decode(b"2") == b"ENOENT"
    assert dec("errno").decode(b"4095") == b"unknown:4095"
    with pytest.raises(DecoderError, match="put the uint decoder before it"):
        dec("errno").decode(b"\x02\0\0\0")
    assert dec("syscall", arch="x86_64").decode(b"110") == b"getppid"
    assert dec("syscall", arch="arm64").decode(b"173") == b"getppid"
    assert dec("syscall", arch="x86_64").decode(b"99999") == b"unknown_syscall:99999"
    with pytest.raises(DecoderError, match="no syscall table for architecture 'mips'"):
        dec("syscall", arch="mips")


def test_inet_ip() -> None:
    d = dec("inet_ip")
    assert d.decode(bytes([10, 0, 0, 1])) == b"10.0.0.1"
    assert d.decode(socket.inet_pton(socket.AF_INET6, "2001:db8::1")) == b"2001:db8::1"
    assert d.decode(socket.inet_pton(socket.AF_INET6, "::ffff:1.2.3.4")) == b"1.2.3.4"
    with pytest.raises(DecoderError):
        d.decode(b"\0" * 5)


def test_dname_wire_format() -> None:
    d = dec("dname")
    assert d.decode(b"\x07example\x03com\x00") == b"example.com"
    assert d.decode(b"") == b"."
    assert d.decode(b"\x09short") == b"\x09short"  # length past the end: left as is


def test_static_map_unknown_values() -> None:
    d = dec("static_map", static_map={"1": "read", "2": "write"})
    assert (d.decode(b"1"), d.decode(b"3")) == (b"read", b"unknown:3")
    assert dec("static_map", static_map={"1": "read"}, allow_unknown=True).decode(b"3") == b"3"


def test_regexp_keeps_matches_and_skips_the_rest() -> None:
    d = dec("regexp", regexps=["^systemd-journal$", "^syslog-ng$"])
    assert d.decode(b"syslog-ng") == b"syslog-ng"
    with pytest.raises(SkipLabelSet):
        d.decode(b"bash")
    with pytest.raises(DecoderError, match="invalid pattern"):
        dec("regexp", regexps=["("])


def test_ifname_resolves_loopback_and_marks_unknown() -> None:
    d = dec("ifname")
    lo = socket.if_nametoindex("lo")
    assert d.decode(struct.pack("=I", lo)) == b"lo"
    assert d.decode(struct.pack("=I", 2**31 - 1)) == f"unknown:{2**31 - 1}".encode()


def test_majorminor_names_a_real_block_device() -> None:
    rows = [ln.split() for ln in Path("/proc/partitions").read_text().splitlines()[2:] if ln.strip()]
    if not rows:
        unavailable("a block device in /proc/partitions")
    major, minor, _, name = int(rows[0][0]), int(rows[0][1]), rows[0][2], rows[0][3]
    encoded = (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)  # the kernel's new_encode_dev
    assert split_dev(encoded) == (major, minor)
    assert dec("majorminor").decode(struct.pack("=I", encoded)) == name.encode()
    assert dec("majorminor").decode(struct.pack("=I", (4095 << 8) | 255)) == b"unknown:4095:255"


def _root_kallsyms() -> None:
    if os.geteuid() != 0:
        unavailable("root (to read kernel addresses from /proc/kallsyms)")


def _kernel_symbol(name: str) -> int:
    for line in Path("/proc/kallsyms").read_text().splitlines():
        parts = line.split()
        if parts[2] == name and parts[1] in "tT":
            return int(parts[0], 16)
    raise AssertionError(name)


def test_ksym_resolves_addresses_inside_functions() -> None:
    _root_kallsyms()
    addr = _kernel_symbol("schedule")
    d = dec("ksym")
    assert d.decode(u64(addr)) == b"schedule"
    assert d.decode(u64(addr + 1)) == b"schedule"  # an instruction pointer a little way in
    assert d.decode(u64(0)) == b"unknown_addr:0x0"


def test_kstack_from_addresses_and_from_a_stack_map() -> None:
    _root_kallsyms()
    frames = u64(_kernel_symbol("schedule") + 4) + u64(_kernel_symbol("do_nanosleep") + 8) + u64(0) * 2
    assert dec("kstack").decode(frames) == b"schedule\ndo_nanosleep"
    stacks = {(7).to_bytes(4, sys.byteorder): frames}
    ctx = DecoderContext(lookup=lambda map_name, key: stacks.get(key) if map_name == "stacks" else None)
    by_id = dec("kstack", ctx, stack_map="stacks")
    assert not by_id.pure  # stack ids get reused, never cache them
    assert by_id.decode(b"7") == b"schedule\ndo_nanosleep"
    assert by_id.decode(u64(7)) == b"schedule\ndo_nanosleep"
    with pytest.raises(DecoderError, match="stack id -14"):
        by_id.decode((2**32 - 14).to_bytes(4, sys.byteorder))


@pytest.fixture
def cgroup_dir() -> Any:
    mount = cgroup2_mount()
    if mount is None or os.geteuid() != 0:
        unavailable("root and a cgroup v2 hierarchy")
    assert mount is not None
    path = mount / f"ebpf-collector-unit-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    if path.exists():
        path.rmdir()


def test_cgroup_ids_resolve_by_handle_without_walking_the_tree(cgroup_dir: Path) -> None:
    paths = CgroupPaths(cache_size=4)
    cgid = cgroup_id(cgroup_dir)
    assert dec("cgroup").decode(str(cgid).encode()) == str(cgroup_dir).encode()
    assert paths.path(cgid) == str(cgroup_dir)
    assert paths.scans == 0  # one open_by_handle_at, no rescan


def test_cgroup_unknown_and_removed_ids_stay_bounded(cgroup_dir: Path) -> None:
    paths = CgroupPaths(cache_size=4)
    cgid = cgroup_id(cgroup_dir)
    cgroup_dir.rmdir()
    assert paths.path(cgid) is None  # gone: ESTALE
    for fake in range(10**12, 10**12 + 50):
        assert paths.path(fake) is None
    assert len(paths.unknown) == 4 and len(paths.known) <= 4
    assert dec("cgroup").decode(b"1000000000000") == b"unknown_cgroup_id:1000000000000"


def test_cgroup_fallback_walk_is_throttled(cgroup_dir: Path) -> None:
    paths = CgroupPaths(rescan_interval=3600)
    paths._by_handle = False  # as without CAP_DAC_READ_SEARCH
    assert paths.path(cgroup_id(cgroup_dir)) == str(cgroup_dir)
    assert paths.path(10**12) is None and paths.path(10**12 + 1) is None
    assert paths.scans == 1  # misses within the interval do not walk the tree again


def test_every_decoder_is_registered_and_unknown_names_are_rejected() -> None:
    assert set(DECODERS) >= {"uint", "hex", "string", "errno", "syscall", "ksym", "kstack", "inet_ip", "ifname",
                             "majorminor", "dname", "static_map", "regexp", "cgroup"}  # fmt: skip
    with pytest.raises(ValidationError, match="unknown decoder 'uint65'"):
        DecoderSpec(name="uint65")
    assert dec("uint64").decode(u64(7)) == b"7"  # older ebpf_exporter configs say uint64
    with pytest.raises(ValidationError, match="needs a `static_map:` mapping"):
        DecoderSpec(name="static_map")


# -- chains over columns ------------------------------------------------------


def keys_of(*rows: bytes) -> np.ndarray[Any, Any]:
    return np.frombuffer(b"".join(rows), np.uint8).reshape(len(rows), -1)


def test_chains_decode_each_distinct_value_once_and_drop_skipped_rows() -> None:
    syscall = [DecoderSpec(name="uint"), DecoderSpec(name="syscall", arch="x86_64")]
    comm = [DecoderSpec(name="string"), DecoderSpec(name="regexp", regexps=["^ba"])]
    labels = [
        LabelSpec(name="syscall", size=8, decoders=syscall),
        LabelSpec(name="comm", size=4, padding=4, decoders=comm),
    ]
    decoder = LabelSetDecoder(labels)
    calls: list[bytes] = []
    uint = decoder.labels[0].chain[0]
    original = uint.decode
    uint.decode = lambda v: calls.append(v) or original(v)  # type: ignore[method-assign]
    rows = [u64(110) + b"bash" + b"\xff" * 4, u64(0) + b"zsh\0" + b"\0" * 4, u64(110) + b"bash" + b"\0" * 4]
    keep, labelled = decoder.decode(keys_of(*rows))
    assert keep.tolist() == [True, False, True]
    assert labelled == [("getppid", "bash"), ("getppid", "bash")]  # padding bytes ignored
    assert len(calls) == 2  # two distinct syscall values, not three rows
    assert decoder.skipped == 1
    decoder.decode(keys_of(*rows))
    assert len(calls) == 2  # pure chains are cached across reads


def test_an_empty_map_decodes_to_nothing() -> None:
    decoder = LabelSetDecoder([LabelSpec(name="comm", size=16, decoders=[DecoderSpec(name="string")])])
    keep, rows = decoder.decode(np.zeros((0, 16), np.uint8))
    assert keep.shape == (0,) and rows == []


def test_skip_cache_is_bounded() -> None:
    decoder = LabelSetDecoder(
        [LabelSpec(name="n", size=4, decoders=[DecoderSpec(name="uint"), DecoderSpec(name="regexp", regexps=["^1$"])])],
        skip_cache_size=8,
    )
    keep, _ = decoder.decode(keys_of(*(struct.pack("=I", i) for i in range(100))))
    assert keep.sum() == 1 and len(decoder.labels[0].skip) == 8


def test_decoder_failures_name_the_label() -> None:
    decoder = LabelSetDecoder([LabelSpec(name="code", size=4, decoders=[DecoderSpec(name="errno")])])
    with pytest.raises(LabelDecodeError, match="label 'code': decoder 'errno' failed"):
        decoder.decode(keys_of(b"\x02\0\0\0"))
